/** Every client method against a real emulator process over HTTP. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  AITrainingClient,
  AuthenticationError,
  BadRequestError,
  buildEnvVars,
  buildVolume,
  isFinalState,
  type Job,
  JobFailedError,
  NotFoundError,
  PermissionDeniedError,
  resolveFlavorForGpuModel,
  ValidationError,
  WaitTimeoutError,
} from "../src/index.js";
import { type Emulator, startEmulator } from "./support/emulator.js";

let emulator: Emulator;
let client: AITrainingClient;
const fastWait = { interval: 50, timeout: 30_000 };

before(async () => {
  emulator = await startEmulator({ slots: 8 });
  client = new AITrainingClient({ token: emulator.token, endpoint: emulator.url });
});

after(async () => {
  await emulator?.stop();
});

function sh(script: string): string[] {
  return ["sh", "-c", script];
}

describe("submit, read, wait", () => {
  test("submitJob sends the spec and getJob reads the same job back", async () => {
    const job = await client.submitJob({
      image: "python:3.12",
      name: "client-submit",
      command: sh("echo hi"),
      envVars: buildEnvVars({ EPOCHS: 3 }),
      labels: { suite: "client", case: "submit" },
      timeout: 600,
    });
    assert.ok(job.id);
    const read = await client.getJob(job.id);
    assert.equal(read.id, job.id);
    assert.equal(read.spec.name, "client-submit");
    assert.deepEqual(read.spec.command, sh("echo hi"));
    assert.deepEqual(read.spec.envVars, [{ name: "EPOCHS", value: "3" }]);
    assert.equal(read.spec.labels?.suite, "client");
    assert.equal(read.spec.timeout, 600);
  });

  test("waitForJob returns the DONE job and reports each state change once, in order", async () => {
    const job = await client.submitJob({ image: "python:3.12", command: sh("echo done") });
    const changes: Array<[string, string | undefined]> = [];
    const done = await client.waitForJob(job.id, {
      ...fastWait,
      onStateChange: (seen, previous) => changes.push([seen.status.state, previous]),
    });
    assert.equal(done.status.state, "DONE");
    assert.equal(done.status.exitCode, 0);
    const states = changes.map(([state]) => state);
    assert.equal(states.at(-1), "DONE");
    assert.equal(new Set(states).size, states.length, `a state was reported twice: ${states}`);
    for (const [i, [, previous]] of changes.entries())
      assert.equal(previous, i === 0 ? undefined : states[i - 1]);
  });

  test("waitForJob fails at once on FAILED with the job id, state, exit code and platform message", async () => {
    const job = await client.submitJob({ image: "python:3.12", command: sh("echo oops >&2; exit 3") });
    await assert.rejects(client.waitForJob(job.id, fastWait), (error: unknown) => {
      assert.ok(error instanceof JobFailedError);
      assert.equal(error.jobId, job.id);
      assert.equal(error.state, "FAILED");
      assert.equal(error.exitCode, 3);
      assert.ok(error.platformMessage, "the platform's message is carried");
      assert.match(error.message, new RegExp(`Job ${job.id} ended in state FAILED with exit code 3`));
      assert.match(error.message, new RegExp(`getJobLogs\\("${job.id}"\\)`));
      // The summary is what happened alone, for a command line that names its own next step.
      assert.ok(error.message.startsWith(error.summary));
      assert.doesNotMatch(error.summary, /getJobLogs|ai-training/);
      return true;
    });
  });

  test("waitForJob fails on a final state that is not a target even when failureStates omits it", async () => {
    const job = await client.submitJob({ image: "python:3.12", command: sh("true") });
    await client.waitForJob(job.id, fastWait);
    await assert.rejects(
      client.waitForJob(job.id, { ...fastWait, targetStates: ["RUNNING"], failureStates: [] }),
      (error: unknown) => error instanceof JobFailedError && error.state === "DONE",
    );
  });

  test("waitForJob times out with the last state and how long it waited; stopJob then interrupts the job", async () => {
    const job = await client.submitJob({ image: "python:3.12", command: sh("sleep 30") });
    await client.waitForJob(job.id, { ...fastWait, targetStates: ["RUNNING"] });
    await assert.rejects(client.waitForJob(job.id, { interval: 50, timeout: 200 }), (error: unknown) => {
      assert.ok(error instanceof WaitTimeoutError);
      assert.equal(error.jobId, job.id);
      assert.equal(error.lastState, "RUNNING");
      assert.ok(error.waitedMs >= 200);
      assert.match(error.message, /still RUNNING after waiting/);
      return true;
    });
    await client.stopJob(job.id);
    const stopped = await client.waitForJob(job.id, { ...fastWait, targetStates: ["INTERRUPTED"] });
    assert.equal(stopped.status.state, "INTERRUPTED");
    assert.ok(stopped.status.history.some((entry) => entry.state === "INTERRUPTING"));
  });

  test("waitForJob refuses contradictory options before any request", async () => {
    await assert.rejects(
      client.waitForJob("any", { targetStates: ["DONE"], failureStates: ["DONE"] }),
      (error: unknown) => error instanceof ValidationError && error.field === "failureStates",
    );
  });

  test("waitForJob refuses an unknown target or failure state, naming the option, before any request", async () => {
    // Nothing listens on port 1: a request would end in a ConnectionError, not a ValidationError.
    const offline = new AITrainingClient({
      token: "t",
      endpoint: "http://127.0.0.1:1",
      retry: { maxRetries: 0 },
    });
    for (const [field, options] of [
      ["targetStates", { targetStates: ["BOGUS"] }],
      ["failureStates", { failureStates: ["FAILED", "NOPE"] }],
    ] as const) {
      await assert.rejects(offline.waitForJob("any", options), (error: unknown) => {
        assert.ok(error instanceof ValidationError, String(error));
        assert.equal(error.field, field);
        assert.ok(error.allowed?.includes("DONE") && error.allowed.includes("INTERRUPTED"));
        assert.match(error.message, new RegExp(`${field}: ".*" is not a job state \\(allowed: QUEUED, `));
        return true;
      });
    }
  });

  test("startJob restarts an ended job, which runs again", async () => {
    const job = await client.submitJob({ image: "python:3.12", command: sh("echo again") });
    await client.waitForJob(job.id, fastWait);
    await client.startJob(job.id);
    const restarted = await client.getJob(job.id);
    assert.ok(
      !isFinalState(restarted.status.state) ||
        restarted.status.history.filter((e) => e.state === "QUEUED").length === 2,
    );
    const done = await client.waitForJob(job.id, fastWait);
    assert.equal(done.status.history.filter((entry) => entry.state === "QUEUED").length, 2);
  });
});

describe("logs", () => {
  test("getJobLogs returns the output, and tail only the last lines", async () => {
    const job = await client.submitJob({
      image: "python:3.12",
      command: sh("echo one; echo two; echo three"),
    });
    await client.waitForJob(job.id, fastWait);
    assert.equal(await client.getJobLogs(job.id), "one\ntwo\nthree\n");
    assert.equal(await client.getJobLogs(job.id, { tail: 1 }), "three\n");
  });

  test("followJobLogs yields lines as they come and ends when the job is final", async () => {
    const job = await client.submitJob({
      image: "python:3.12",
      command: sh("for i in 1 2 3 4; do echo line$i; sleep 0.2; done"),
    });
    const lines: string[] = [];
    for await (const line of client.followJobLogs(job.id)) lines.push(line);
    assert.deepEqual(lines, ["line1", "line2", "line3", "line4"]);
    assert.ok(isFinalState((await client.getJob(job.id)).status.state));
  });

  test("followJobLogs stops at once when its signal aborts, even mid-stream", async () => {
    const job = await client.submitJob({ image: "python:3.12", command: sh("echo first; sleep 30") });
    const controller = new AbortController();
    const lines: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const line of client.followJobLogs(job.id, { signal: controller.signal })) {
          lines.push(line);
          controller.abort(new Error("enough"));
        }
      })(),
      /enough/,
    );
    assert.deepEqual(lines, ["first"]);
    await client.deleteJob(job.id, { force: true });
  });

  test("followJobLogs with tail starts from the last lines already written", async () => {
    const job = await client.submitJob({ image: "python:3.12", command: sh("echo a; echo b; echo c") });
    await client.waitForJob(job.id, fastWait);
    const lines: string[] = [];
    for await (const line of client.followJobLogs(job.id, { tail: 2 })) lines.push(line);
    assert.deepEqual(lines, ["b", "c"]);
  });
});

describe("listing and labels", () => {
  const batch = `batch-${Date.now()}`;
  const ids: string[] = [];

  before(async () => {
    for (let i = 0; i < 5; i += 1) {
      const job = await client.submitJob({
        image: "python:3.12",
        command: sh("true"),
        labels: { batch, n: String(i) },
      });
      ids.push(job.id);
    }
    for (const id of ids) await client.waitForJob(id, fastWait);
  });

  test("listJobs filters by label selector and state", async () => {
    const list = await client.listJobs({ labelSelector: { batch }, statusState: ["DONE"] });
    assert.deepEqual(new Set(list.items.map((job) => job.id)), new Set(ids));
    const none = await client.listJobs({ labelSelector: `batch=${batch}`, statusState: "RUNNING" });
    assert.deepEqual(none.items, []);
    const one = await client.listJobs({ labelSelector: { batch, n: "2" } });
    assert.deepEqual(
      one.items.map((job) => job.id),
      [ids[2]],
    );
  });

  test("listJobs pages and sorts", async () => {
    const page = await client.listJobs({
      labelSelector: { batch },
      size: 2,
      page: 2,
      sort: "createdAt",
      order: "asc",
    });
    assert.deepEqual(
      page.items.map((job) => job.id),
      ids.slice(2, 4),
    );
    assert.equal(page.metadata?.currentPage, 2);
  });

  test("iterateJobs walks every page once", async () => {
    const seen: Job[] = [];
    for await (const job of client.iterateJobs({ labelSelector: { batch }, size: 2 })) seen.push(job);
    assert.equal(seen.length, 5);
    assert.deepEqual(new Set(seen.map((job) => job.id)), new Set(ids));
  });

  test("setJobLabel sets and removes a label", async () => {
    const id = ids[0] as string;
    await client.setJobLabel(id, "reviewed", "yes");
    assert.equal((await client.getJob(id)).spec.labels?.reviewed, "yes");
    await client.setJobLabel(id, "reviewed", null);
    assert.equal((await client.getJob(id)).spec.labels?.reviewed, undefined);
    await assert.rejects(client.setJobLabel(id, "ovh/owner", "me"), ValidationError);
  });
});

describe("delete", () => {
  test("deleting an active job needs force; a deleted job is not found", async () => {
    const job = await client.submitJob({ image: "python:3.12", command: sh("sleep 30") });
    await assert.rejects(client.deleteJob(job.id), (error: unknown) => {
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.status, 400);
      assert.equal(error.jobId, job.id);
      assert.deepEqual(error.request, { method: "DELETE", path: `/v1/job/${job.id}` });
      return true;
    });
    await client.deleteJob(job.id, { force: true });
    await assert.rejects(
      client.getJob(job.id),
      (error: unknown) => error instanceof NotFoundError && error.status === 404,
    );
  });
});

describe("flavors, me, auth and refusals", () => {
  test("listFlavors lists the catalogue and a GPU model resolves to its flavor", async () => {
    const flavors = await client.listFlavors();
    const ids = flavors.map((flavor) => flavor.id);
    for (const id of ["ai1-1-cpu", "ai1-1-gpu", "a100-1-gpu", "h100-1-gpu"]) assert.ok(ids.includes(id), id);
    assert.equal(resolveFlavorForGpuModel(flavors, "V100S"), "ai1-1-gpu");
    assert.equal(resolveFlavorForGpuModel(flavors, "h100"), "h100-1-gpu");
  });

  test("me tells the operator token from the read token", async () => {
    assert.equal((await client.me()).role, "operator");
    const reader = new AITrainingClient({ token: emulator.readToken, endpoint: emulator.url });
    assert.equal((await reader.me()).role, "read");
    await assert.rejects(reader.submitJob({ image: "python:3.12" }), PermissionDeniedError);
  });

  test("a wrong token gets AuthenticationError and the token is in no message", async () => {
    const secret = "wrong-token-4f9a8b7c6d";
    const stranger = new AITrainingClient({ token: secret, endpoint: emulator.url });
    const errors: unknown[] = [];
    for (const call of [
      () => stranger.me(),
      () => stranger.getJob("x"),
      () => stranger.submitJob({ image: "i" }),
    ]) {
      await assert.rejects(call(), (error: unknown) => {
        errors.push(error);
        return error instanceof AuthenticationError && error.status === 401;
      });
    }
    for (const error of errors) {
      const text = `${(error as Error).message} ${(error as Error).stack} ${JSON.stringify(error)}`;
      assert.ok(!text.includes(secret), text);
    }
  });

  test("an unknown job is NotFoundError naming the job", async () => {
    await assert.rejects(client.getJob("no-such-job"), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.jobId, "no-such-job");
      assert.match(error.message, /no-such-job/);
      return true;
    });
  });

  test("an invalid spec is refused before sending and creates no job", async () => {
    const before = (await client.listJobs({ size: 1000 })).items.length;
    await assert.rejects(
      client.submitJob({
        image: "python:3.12",
        volumes: [
          buildVolume({ container: "c", alias: "a", mountPath: "/d" }),
          buildVolume({ container: "e", alias: "a", mountPath: "/d" }),
        ],
      }),
      (error: unknown) => error instanceof ValidationError && error.field === "volumes[1].mountPath",
    );
    await assert.rejects(
      client.submitJob({ image: "python:3.12", labels: { "ovh/x": "y" } }),
      ValidationError,
    );
    await assert.rejects(client.submitJob({ image: "python:3.12", timeout: 0 }), ValidationError);
    assert.equal((await client.listJobs({ size: 1000 })).items.length, before);
  });

  test("an unknown flavor is refused by the API with the valid flavors in the message", async () => {
    await assert.rejects(
      client.submitJob({ image: "python:3.12", resources: { flavor: "ai9-huge" } }),
      (error: unknown) => {
        assert.ok(error instanceof BadRequestError);
        assert.match(error.apiMessage, /ai1-1-gpu/);
        return true;
      },
    );
  });
});

describe("volumes", () => {
  test("a data store volume built with buildVolume is mounted read-only in the job", async () => {
    const container = path.join(emulator.dataDir, "object-storage", "GRA", "inputs");
    mkdirSync(container, { recursive: true });
    writeFileSync(path.join(container, "hello.txt"), "hello from object storage\n");
    const job = await client.submitJob({
      image: "python:3.12",
      command: sh(
        "cat /workspace/data/hello.txt; touch /workspace/data/new 2>/dev/null && echo writable || echo read-only",
      ),
      volumes: [buildVolume({ container: "inputs", alias: "GRA", mountPath: "/workspace/data" })],
    });
    await client.waitForJob(job.id, fastWait);
    assert.equal(await client.getJobLogs(job.id), "hello from object storage\nread-only\n");
  });
});

describe("retries against the emulator's fault injection", () => {
  test("reads succeed through a share of 503 and 429 answers", async () => {
    const faulty = await startEmulator({ faults: { rate503: 0.3, rate429: 0.1, seed: 7 } });
    try {
      const flaky = new AITrainingClient({
        token: faulty.token,
        endpoint: faulty.url,
        // Retry-After from the emulator is 1 s, so the longest delay must allow it.
        retry: { initialDelayMs: 5, maxDelayMs: 1500, maxRetries: 8 },
      });
      for (let i = 0; i < 20; i += 1) assert.equal((await flaky.me()).role, "operator");
    } finally {
      await faulty.stop();
    }
  });
});
