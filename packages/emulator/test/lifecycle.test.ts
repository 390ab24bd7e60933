import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { canTransition } from "@ai-training/client";
import { type EmulatorProcess, startEmulatorProcess } from "../src/testing.js";
import { call, historyOf, submit, waitForFinal, waitForJob, waitForLog, waitForState } from "./helpers.js";

function assertLegalHistory(states: string[]): void {
  for (let i = 1; i < states.length; i++) {
    assert.ok(
      canTransition(states[i - 1] as string, states[i] as string),
      `illegal move in ${states.join(" > ")}`,
    );
  }
}

describe("job lifecycle on a real emulator process", () => {
  let emulator: EmulatorProcess;
  before(async () => {
    emulator = await startEmulatorProcess({ slots: 2, stopGraceMs: 1000 });
  });
  after(() => emulator.stop());

  test("a command that exits 0 goes QUEUED, INITIALIZING, PENDING, RUNNING, FINALIZING, DONE", async () => {
    const job = await submit(emulator, { image: "busybox", command: ["sh", "-c", "echo done"] });
    assert.equal(job.status.state, "QUEUED");
    const final = await waitForFinal(emulator, job.id);
    assert.deepEqual(historyOf(final), [
      "QUEUED",
      "INITIALIZING",
      "PENDING",
      "RUNNING",
      "FINALIZING",
      "DONE",
    ]);
    assert.equal(final.status.exitCode, 0);
    for (const field of ["queuedAt", "initializingAt", "startedAt", "stoppedAt", "finalizedAt"] as const) {
      assert.ok(final.status[field], `status.${field} is set`);
    }
    assert.equal(final.status.lastTransitionDate, final.status.history.at(-1)?.date);
    assert.equal(typeof final.status.duration, "number");
  });

  test("the spec's defaults are filled in and ovh/ labels belong to the platform", async () => {
    const job = await submit(emulator, {
      image: "busybox",
      command: ["true"],
      labels: { team: "ml", "ovh/id": "forged" },
    });
    assert.equal(job.spec.defaultHttpPort, 8080);
    assert.equal(job.spec.timeout, 604800);
    assert.equal(job.spec.resources?.flavor, "ai1-1-gpu");
    assert.equal(job.spec.resources?.gpu, 1);
    assert.equal(job.spec.resources?.gpuModel, "V100S");
    assert.match(job.spec.name ?? "", /^job-/);
    assert.equal(job.spec.labels?.team, "ml");
    assert.equal(job.spec.labels?.["ovh/id"], job.id);
    assert.ok(job.status.url);
    await waitForFinal(emulator, job.id);
  });

  test("resources: a flavor with gpu 0 gets one unit; gpuModel picks its flavor; cpu alone picks the CPU flavor", async () => {
    const zero = await submit(emulator, {
      image: "busybox",
      command: ["true"],
      resources: { flavor: "l4-1-gpu", gpu: 0 },
    });
    assert.equal(zero.spec.resources?.flavor, "l4-1-gpu");
    assert.equal(zero.spec.resources?.gpu, 1);
    const model = await submit(emulator, {
      image: "busybox",
      command: ["true"],
      resources: { gpu: 2, gpuModel: "A100" },
    });
    assert.equal(model.spec.resources?.flavor, "a100-1-gpu");
    assert.equal(model.spec.resources?.gpu, 2);
    const cpu = await submit(emulator, { image: "busybox", command: ["true"], resources: { cpu: 4 } });
    assert.equal(cpu.spec.resources?.flavor, "ai1-1-cpu");
    assert.equal(cpu.spec.resources?.cpu, 4);
    assert.equal(cpu.spec.resources?.gpu, 0);
    const seed = await submit(emulator, {
      image: "busybox",
      command: ["true"],
      resources: { flavor: "ai1-1-gpu", gpu: 1, gpuModel: "V100S" },
    });
    assert.equal(seed.spec.resources?.gpuModel, "V100S");
    for (const job of [zero, model, cpu, seed]) await waitForFinal(emulator, job.id);
  });

  test("a non-zero exit gives FINALIZING then FAILED with the exit code and a message", async () => {
    const job = await submit(emulator, { image: "busybox", command: ["sh", "-c", "exit 3"] });
    const final = await waitForFinal(emulator, job.id);
    assert.equal(final.status.state, "FAILED");
    assert.deepEqual(historyOf(final).slice(-2), ["FINALIZING", "FAILED"]);
    assert.equal(final.status.exitCode, 3);
    assert.match(final.status.info?.message ?? "", /exit code 3/);
    assert.match(final.status.info?.message ?? "", new RegExp(job.id));
  });

  test("a command that cannot start gives FAILED with a message saying why", async () => {
    const job = await submit(emulator, { image: "busybox", command: ["definitely-not-a-program-xyz"] });
    const final = await waitForFinal(emulator, job.id);
    assert.equal(final.status.state, "FAILED");
    assert.ok(!historyOf(final).includes("RUNNING"), `never RUNNING: ${historyOf(final).join(" > ")}`);
    assert.match(final.status.info?.message ?? "", /definitely-not-a-program-xyz/);
    assertLegalHistory(historyOf(final));
  });

  test("envVars reach the command as environment variables", async () => {
    const job = await submit(emulator, {
      image: "busybox",
      command: ["sh", "-c", 'echo "epochs=$EPOCHS"'],
      envVars: [{ name: "EPOCHS", value: "50" }],
    });
    await waitForState(emulator, job.id, "DONE");
    const log = await call(emulator, "GET", `/v1/job/${job.id}/log`);
    assert.match(log.text, /epochs=50/);
  });

  test("kill gives INTERRUPTING, FINALIZING, INTERRUPTED", async () => {
    const job = await submit(emulator, { image: "busybox", command: ["sh", "-c", "echo started; sleep 60"] });
    await waitForState(emulator, job.id, "RUNNING");
    await waitForLog(emulator, job.id, "started");
    const kill = await call(emulator, "PUT", `/v1/job/${job.id}/kill`);
    assert.equal(kill.status, 204);
    const final = await waitForFinal(emulator, job.id);
    assert.equal(final.status.state, "INTERRUPTED");
    assert.deepEqual(historyOf(final).slice(-4), ["RUNNING", "INTERRUPTING", "FINALIZING", "INTERRUPTED"]);
    assert.equal(final.status.info?.code, "KILLED");
  });

  test("a command that ignores SIGTERM is killed after the grace period", async () => {
    const job = await submit(emulator, {
      image: "busybox",
      command: ["sh", "-c", "trap '' TERM; echo trapped; while true; do sleep 1; done"],
    });
    await waitForLog(emulator, job.id, "trapped");
    await call(emulator, "PUT", `/v1/job/${job.id}/kill`);
    const final = await waitForFinal(emulator, job.id);
    assert.equal(final.status.state, "INTERRUPTED");
  });

  test("reaching the timeout gives TIMEOUT, FINALIZING, then INTERRUPTED with info.code TIMEOUT", async () => {
    const job = await submit(emulator, { image: "busybox", command: ["sleep", "60"], timeout: 1 });
    const final = await waitForFinal(emulator, job.id);
    assert.deepEqual(historyOf(final).slice(-4), ["RUNNING", "TIMEOUT", "FINALIZING", "INTERRUPTED"]);
    assert.equal(final.status.info?.code, "TIMEOUT");
    assert.ok(final.status.timeoutAt);
  });

  test("timeoutAutoRestart queues the job again after its timeout", async () => {
    const job = await submit(emulator, {
      image: "busybox",
      command: ["sleep", "60"],
      timeout: 1,
      timeoutAutoRestart: true,
    });
    const again = await waitForJob(
      emulator,
      job.id,
      (j) => historyOf(j).includes("INTERRUPTED") && j.status.state === "RUNNING",
      "RUNNING again after the timeout",
    );
    assert.deepEqual(historyOf(again).slice(0, 8), [
      "QUEUED",
      "INITIALIZING",
      "PENDING",
      "RUNNING",
      "TIMEOUT",
      "FINALIZING",
      "INTERRUPTED",
      "QUEUED",
    ]);
    await call(emulator, "PUT", `/v1/job/${job.id}/kill`);
    await waitForFinal(emulator, job.id);
  });

  test("killing an ended job changes nothing and answers 204", async () => {
    const job = await submit(emulator, { image: "busybox", command: ["true"] });
    const done = await waitForState(emulator, job.id, "DONE");
    assert.equal((await call(emulator, "PUT", `/v1/job/${job.id}/kill`)).status, 204);
    const after = await call<typeof done>(emulator, "GET", `/v1/job/${job.id}`);
    assert.deepEqual(historyOf(after.body), historyOf(done));
  });

  test("PUT start restarts an ended job, and refuses one still running", async () => {
    const job = await submit(emulator, { image: "busybox", command: ["sh", "-c", "echo run"] });
    await waitForState(emulator, job.id, "DONE");
    assert.equal((await call(emulator, "PUT", `/v1/job/${job.id}/start`)).status, 204);
    // After a restart the job passes through QUEUED again; wait for the second DONE.
    const again = await waitForJob(
      emulator,
      job.id,
      (j) => j.status.state === "DONE" && historyOf(j).filter((s) => s === "QUEUED").length === 2,
      "DONE after a restart",
    );
    assert.equal(historyOf(again).filter((s) => s === "QUEUED").length, 2);
    assert.equal(again.status.state, "DONE");
    assertLegalHistory(historyOf(again));

    const running = await submit(emulator, { image: "busybox", command: ["sleep", "60"] });
    await waitForState(emulator, running.id, "RUNNING");
    const refused = await call<{ message: string }>(emulator, "PUT", `/v1/job/${running.id}/start`);
    assert.equal(refused.status, 400);
    assert.match(refused.body.message, /RUNNING/);
    await call(emulator, "PUT", `/v1/job/${running.id}/kill`);
    await waitForFinal(emulator, running.id);
  });

  test("unknown job ids answer 404 on every job endpoint", async () => {
    const id = "00000000-0000-0000-0000-000000000000";
    for (const [method, path] of [
      ["GET", `/v1/job/${id}`],
      ["PUT", `/v1/job/${id}/kill`],
      ["PUT", `/v1/job/${id}/start`],
      ["DELETE", `/v1/job/${id}`],
      ["GET", `/v1/job/${id}/log`],
    ] as const) {
      const answer = await call<{ message: string }>(emulator, method, path);
      assert.equal(answer.status, 404, `${method} ${path}`);
      assert.match(answer.body.message, new RegExp(id));
    }
  });
});

describe("images and commands", () => {
  let emulator: EmulatorProcess;
  let imageDir: string;
  before(async () => {
    imageDir = mkdtempSync(path.join(os.tmpdir(), "emulator-image-"));
    writeFileSync(
      path.join(imageDir, "train.py"),
      'import os\nprint("trained", os.getcwd(), os.environ["EPOCHS"])\n',
    );
    emulator = await startEmulatorProcess({ images: { "pytorch/pytorch:2.0.0": imageDir } });
  });
  after(async () => {
    await emulator.stop();
    rmSync(imageDir, { recursive: true, force: true });
  });

  test("an --image folder is the job's /workspace and `python` runs even where only python3 exists", async () => {
    const job = await submit(emulator, {
      image: "pytorch/pytorch:2.0.0",
      command: ["python", "train.py"],
      envVars: [{ name: "EPOCHS", value: "3" }],
    });
    const final = await waitForFinal(emulator, job.id);
    const log = await call(emulator, "GET", `/v1/job/${job.id}/log`);
    assert.equal(final.status.state, "DONE", log.text);
    assert.match(log.text, /trained \/workspace 3/);
  });

  test("a job with no command, on an image without a known default command, says so and ends DONE", async () => {
    const job = await submit(emulator, { image: "some/unknown-image:1" });
    const final = await waitForFinal(emulator, job.id);
    assert.equal(final.status.state, "DONE");
    assert.equal(final.status.exitCode, 0);
    const log = await call(emulator, "GET", `/v1/job/${job.id}/log`);
    assert.equal(log.text.trimEnd().split("\n").length, 1, log.text);
    assert.match(log.text, /some\/unknown-image:1/);
  });
});

describe("queueing with --slots", () => {
  let emulator: EmulatorProcess;
  before(async () => {
    emulator = await startEmulatorProcess({ slots: 1, stopGraceMs: 500 });
  });
  after(() => emulator.stop());

  test("a job waits in QUEUED while every slot is busy, and runs once one frees", async () => {
    const first = await submit(emulator, { image: "busybox", command: ["sh", "-c", "echo first; sleep 60"] });
    await waitForLog(emulator, first.id, "first");
    const second = await submit(emulator, { image: "busybox", command: ["sh", "-c", "echo second"] });
    const waiting = await call<typeof second>(emulator, "GET", `/v1/job/${second.id}`);
    assert.equal(waiting.body.status.state, "QUEUED");

    await call(emulator, "PUT", `/v1/job/${first.id}/kill`);
    const done = await waitForFinal(emulator, second.id);
    assert.equal(done.status.state, "DONE");
    assert.deepEqual(historyOf(done), ["QUEUED", "INITIALIZING", "PENDING", "RUNNING", "FINALIZING", "DONE"]);
  });

  test("killing a QUEUED job ends it INTERRUPTED without running it", async () => {
    const blocker = await submit(emulator, {
      image: "busybox",
      command: ["sh", "-c", "echo blocking; sleep 60"],
    });
    await waitForLog(emulator, blocker.id, "blocking");
    const queued = await submit(emulator, { image: "busybox", command: ["sh", "-c", "echo must-not-run"] });
    assert.equal((await call(emulator, "PUT", `/v1/job/${queued.id}/kill`)).status, 204);
    const final = await waitForFinal(emulator, queued.id);
    assert.deepEqual(historyOf(final), ["QUEUED", "INTERRUPTED"]);
    await call(emulator, "PUT", `/v1/job/${blocker.id}/kill`);
    await waitForFinal(emulator, blocker.id);
    const log = await call(emulator, "GET", `/v1/job/${queued.id}/log`);
    assert.equal(log.text, "");
  });
});

describe("many jobs at once", () => {
  let emulator: EmulatorProcess;
  before(async () => {
    emulator = await startEmulatorProcess({ slots: 3 });
  });
  after(() => emulator.stop());

  test("30 jobs submitted together all end DONE, never more than --slots past QUEUED at a time", async () => {
    const jobs = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        submit(emulator, { image: "busybox", command: ["sh", "-c", `echo job-${i}`] }),
      ),
    );
    const finals = await Promise.all(jobs.map((job) => waitForFinal(emulator, job.id)));
    assert.ok(finals.every((job) => job.status.state === "DONE"));
    // Each job holds a slot from INITIALIZING to its final state; count the most held at one instant.
    const events: Array<[number, number]> = [];
    for (const job of finals) {
      const start = job.status.history.find((h) => h.state === "INITIALIZING")?.date as string;
      const end = job.status.history.at(-1)?.date as string;
      events.push([Date.parse(start), 1], [Date.parse(end), -1]);
    }
    // At equal times a release comes before an acquire: the slot freed is the slot taken.
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let held = 0;
    let most = 0;
    for (const [, delta] of events) {
      held += delta;
      most = Math.max(most, held);
    }
    assert.ok(most <= 3, `at most 3 jobs past QUEUED at once, saw ${most}`);
    assert.ok(most >= 2, `slots were used in parallel (${most})`);
  });
});
