/**
 * Volume mount points outside /workspace, through a real emulator process: the runtime creates no folder on
 * the host outside its data dir unless the operator opts in with --create-mount-points.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { startEmulatorProcess } from "../src/testing.js";
import { submit, waitForFinal, waitForLog } from "./helpers.js";

const root = mkdtempSync(path.join(os.tmpdir(), "emulator-mount-points-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("mount points outside /workspace", () => {
  test("a missing one fails the job at start, naming the volume and what to do, and creates nothing", async () => {
    const mountPath = `/ai-training-emulator-test-missing-${randomBytes(6).toString("hex")}`;
    assert.equal(existsSync(mountPath), false);
    const emulator = await startEmulatorProcess();
    try {
      const job = await submit(emulator, {
        image: "busybox",
        command: ["true"],
        volumes: [
          { mountPath: "/workspace/in", volumeSource: { standalone: {} } },
          { mountPath, volumeSource: { standalone: {} } },
        ],
      });
      const ended = await waitForFinal(emulator, job.id);
      assert.equal(ended.status.state, "FAILED");
      const message = ended.status.info?.message ?? "";
      assert.match(message, new RegExp(`volume 1 has mountPath "${mountPath}"`));
      assert.match(message, /does not exist on this host/);
      assert.match(message, /under \/workspace\//);
      assert.match(message, /create the folder/);
      assert.match(message, /--create-mount-points/);
      await waitForLog(emulator, job.id, "--create-mount-points");
    } finally {
      await emulator.stop();
    }
    assert.equal(existsSync(mountPath), false, `${mountPath} was not created on the host`);
  });

  test("an existing one is mounted over inside the job only; the host folder is unchanged", async () => {
    const mountPath = path.join(root, "existing");
    mkdirSync(mountPath);
    const emulator = await startEmulatorProcess();
    try {
      const job = await submit(emulator, {
        image: "busybox",
        command: ["/bin/sh", "-c", `echo hi > "${mountPath}/written.txt" && ls "${mountPath}"`],
        volumes: [{ mountPath, volumeSource: { standalone: {} }, permission: "RW" }],
      });
      const ended = await waitForFinal(emulator, job.id);
      assert.equal(ended.status.state, "DONE", JSON.stringify(ended.status.info));
      await waitForLog(emulator, job.id, "written.txt");
    } finally {
      await emulator.stop();
    }
    assert.deepEqual(readdirSync(mountPath), [], "the job wrote into its volume, not the host folder");
  });

  test("with --create-mount-points a missing one is created, and stays on the host", async () => {
    const mountPath = path.join(root, "made", "here");
    const emulator = await startEmulatorProcess({ args: ["--create-mount-points"] });
    try {
      const job = await submit(emulator, {
        image: "busybox",
        command: ["true"],
        volumes: [{ mountPath, volumeSource: { standalone: {} } }],
      });
      const ended = await waitForFinal(emulator, job.id);
      assert.equal(ended.status.state, "DONE", JSON.stringify(ended.status.info));
    } finally {
      await emulator.stop();
    }
    assert.deepEqual(readdirSync(mountPath), [], "the empty mount point stays");
  });
});
