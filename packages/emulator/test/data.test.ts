import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Job } from "@ai-training/client";
import { type EmulatorProcess, startEmulatorProcess } from "../src/testing.js";
import { call, submit, waitForFinal } from "./helpers.js";

const COMMANDS = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "commands.js");

/** Runs `dataCommand(args)` in a process of its own, as the CLI would. */
function data(args: string[], env: NodeJS.ProcessEnv = {}) {
  const script = `import(${JSON.stringify(COMMANDS)}).then((m) => m.dataCommand(process.argv.slice(1))).then((code) => process.exit(code));`;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script, "--", ...args], {
    encoding: "utf8",
    env: { ...process.env, OVH_AI_TRAINING_DATA_DIR: "", ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("ai-training data upload|download|list", () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), "emulator-data-"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test("upload puts files and folders under the prefix; list and download see them", () => {
    const dataDir = path.join(root, "d1");
    const src = path.join(root, "src");
    mkdirSync(path.join(src, "nested"), { recursive: true });
    writeFileSync(path.join(src, "a.csv"), "x,y\n1,2\n");
    writeFileSync(path.join(src, "nested", "b.txt"), "bee");
    const single = path.join(root, "single.txt");
    writeFileSync(single, "one");

    const up = data([
      "upload",
      "GRA",
      "my-data",
      src,
      single,
      "--prefix",
      "v1",
      "--data-dir",
      dataDir,
      "--output",
      "json",
    ]);
    assert.equal(up.code, 0, up.stderr);
    const uploaded = JSON.parse(up.stdout) as { objects: Array<{ name: string; size: number }> };
    assert.deepEqual(uploaded.objects.map((o) => o.name).sort(), [
      "v1/a.csv",
      "v1/nested/b.txt",
      "v1/single.txt",
    ]);
    assert.equal(
      readFileSync(path.join(dataDir, "object-storage", "GRA", "my-data", "v1", "nested", "b.txt"), "utf8"),
      "bee",
    );

    const list = data(["list", "GRA", "my-data", "--prefix", "v1/nested", "--output", "json"], {
      OVH_AI_TRAINING_DATA_DIR: dataDir,
    });
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { objects: Array<{ name: string; size: number }> }).objects.map((o) => [
        o.name,
        o.size,
      ]),
      [["v1/nested/b.txt", 3]],
    );
    const table = data(["list", "GRA", "my-data", "--data-dir", dataDir]);
    assert.match(table.stdout, /3 object\(s\)/);

    const dest = path.join(root, "out");
    const down = data(["download", "GRA", "my-data", dest, "--prefix", "v1", "--data-dir", dataDir]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(readFileSync(path.join(dest, "v1", "a.csv"), "utf8"), "x,y\n1,2\n");
    assert.match(down.stdout, /3 object\(s\) downloaded/);
  });

  test("bad input exits 2 with a message saying what to do, and writes nothing", () => {
    const dataDir = path.join(root, "d2");
    const noDir = data(["list", "GRA", "c"]);
    assert.equal(noDir.code, 2);
    assert.match(noDir.stderr, /--data-dir DIR or set OVH_AI_TRAINING_DATA_DIR/);
    const missing = data(["list", "GRA", "nope", "--data-dir", dataDir]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /container nope does not exist under alias GRA/);
    const badName = data(["upload", "GRA", "../escape", __filenameOf(), "--data-dir", dataDir]);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /container '\.\.\/escape' is not valid/);
    const badPrefix = data([
      "upload",
      "GRA",
      "c",
      __filenameOf(),
      "--prefix",
      "../up",
      "--data-dir",
      dataDir,
    ]);
    assert.equal(badPrefix.code, 2);
    assert.match(badPrefix.stderr, /--prefix '\.\.\/up'/);
    const noFile = data(["upload", "GRA", "c", path.join(root, "absent"), "--data-dir", dataDir]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /no such file or folder/);
    const verb = data(["copy", "GRA", "c", "--data-dir", dataDir]);
    assert.equal(verb.code, 2);
    assert.match(verb.stderr, /use upload, download or list/);
    assert.equal(existsSync(path.join(dataDir, "object-storage", "GRA", "c")), false);
  });
});

function __filenameOf(): string {
  return fileURLToPath(import.meta.url);
}

describe("volumes end to end through the emulator", () => {
  let emulator: EmulatorProcess;
  let storage: string;
  before(async () => {
    emulator = await startEmulatorProcess();
    storage = path.join(emulator.dataDir, "object-storage", "GRA");
    mkdirSync(path.join(storage, "in", "set"), { recursive: true });
    writeFileSync(path.join(storage, "in", "set", "rows.csv"), "1\n2\n3\n");
    writeFileSync(path.join(storage, "in", "other.txt"), "not under the prefix");
    mkdirSync(path.join(storage, "rw"), { recursive: true });
    writeFileSync(path.join(storage, "rw", "keep.txt"), "kept");
    mkdirSync(path.join(storage, "rwd"), { recursive: true });
    writeFileSync(path.join(storage, "rwd", "gone.txt"), "to delete");
  });
  after(() => emulator.stop());

  test("RO data is readable but not writable; RW adds are written back; RWD deletions are written back", async () => {
    const script = [
      "cat /workspace/data/rows.csv | wc -l | tr -d ' ' > /workspace/rw/count.txt",
      "if echo x > /workspace/data/new.txt 2>/dev/null; then echo RO-WRITABLE; else echo RO-REFUSED; fi",
      "rm /workspace/rw/keep.txt",
      "rm /workspace/rwd/gone.txt",
      "echo made > /workspace/rwd/made.txt",
    ].join("; ");
    const job = await submit(emulator, {
      image: "busybox",
      command: ["sh", "-c", script],
      volumes: [
        {
          mountPath: "/workspace/data",
          permission: "RO",
          dataStore: { alias: "GRA", container: "in", prefix: "set" },
        },
        { mountPath: "/workspace/rw", permission: "RW", dataStore: { alias: "GRA", container: "rw" } },
        {
          mountPath: "/workspace/rwd",
          permission: "RWD",
          volumeSource: { dataStore: { alias: "GRA", container: "rwd" } },
        },
      ],
    });
    const final = await waitForFinal(emulator, job.id);
    const log = await call(emulator, "GET", `/v1/job/${job.id}/log`);
    assert.equal(final.status.state, "DONE", `${final.status.info?.message ?? ""}\n${log.text}`);
    assert.match(log.text, /RO-REFUSED/);
    assert.equal(
      existsSync(path.join(storage, "in", "set", "new.txt")),
      false,
      "RO volume never written back",
    );
    assert.equal(existsSync(path.join(storage, "in", "new.txt")), false);
    assert.equal(readFileSync(path.join(storage, "rw", "count.txt"), "utf8").trim(), "3");
    assert.equal(
      existsSync(path.join(storage, "rw", "keep.txt")),
      true,
      "RW keeps objects deleted in the job",
    );
    assert.equal(
      existsSync(path.join(storage, "rwd", "gone.txt")),
      false,
      "RWD removes objects deleted in the job",
    );
    assert.equal(readFileSync(path.join(storage, "rwd", "made.txt"), "utf8").trim(), "made");

    const synced = await call<Job>(emulator, "GET", `/v1/job/${job.id}`);
    const syncs = synced.body.status.dataSync ?? [];
    assert.ok(syncs.some((s) => s.direction === "pull" && s.state === "DONE"));
    assert.ok(syncs.some((s) => s.direction === "push" && s.state === "DONE"));
    assert.ok(synced.body.status.volumes?.[1]?.lastPushedCreatedAt);
  });

  test("an RO volume of a container that does not exist fails the job in INITIALIZING, saying which", async () => {
    const job = await submit(emulator, {
      image: "busybox",
      command: ["true"],
      volumes: [
        { mountPath: "/workspace/data", dataStore: { alias: "GRA", container: "no-such-container" } },
      ],
    });
    const final = await waitForFinal(emulator, job.id);
    assert.equal(final.status.state, "FAILED");
    assert.deepEqual(
      final.status.history.map((h) => h.state),
      ["QUEUED", "INITIALIZING", "FAILED"],
    );
    assert.equal(final.status.info?.code, "DATA_SYNC_FAILED");
    assert.match(final.status.info?.message ?? "", /no-such-container/);
  });
});
