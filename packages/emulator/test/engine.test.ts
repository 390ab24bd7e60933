/**
 * The engine's interleavings that real processes cannot reproduce on demand (a kill while volumes are
 * still pulling, a runtime that breaks): a scripted runtime stands in for the host, the store is real.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { canTransition, type Job } from "@ai-training/client";
import { Engine } from "../src/engine/engine.js";
import type {
  JobProcess,
  PreparedVolume,
  ProcessExit,
  Runtime,
  RuntimeJob,
  SyncProgress,
} from "../src/runtime/types.js";
import { DataSyncError } from "../src/runtime/types.js";
import { JobStore } from "../src/store/store.js";

/** A promise with its resolve and reject at hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A runtime whose every step waits until the test lets it go. */
class ScriptedRuntime implements Runtime {
  pull = deferred<PreparedVolume[]>();
  start = deferred<JobProcess>();
  push = deferred<void>();
  pullProgress?: (p: SyncProgress) => void;
  started = 0;
  stopped = 0;

  pullVolumes(_job: RuntimeJob, onProgress?: (p: SyncProgress) => void) {
    this.pullProgress = onProgress;
    return this.pull.promise;
  }
  startProcess() {
    this.started += 1;
    return this.start.promise;
  }
  pushVolumes() {
    return this.push.promise;
  }
  async cleanup() {}

  /** A process that exits when `exit` is called or when stopped. */
  process(): JobProcess & { exit(result: ProcessExit): void } {
    const exited = deferred<ProcessExit>();
    return {
      pid: 12345,
      exited: exited.promise,
      exit: (result) => exited.resolve(result),
      stop: async () => {
        this.stopped += 1;
        exited.resolve({ exitCode: null, signal: "SIGTERM" });
        return exited.promise;
      },
    };
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function until(engine: Engine, id: string, state: string): Promise<Job> {
  for (let i = 0; i < 1000; i++) {
    const job = engine.get(id);
    if (job.status.state === state) return job;
    await tick();
  }
  throw new Error(`job ${id} never reached ${state}; it is ${engine.get(id).status.state}`);
}

function states(job: Job): string[] {
  return job.status.history.map((h) => h.state);
}

function assertLegal(job: Job): void {
  const list = states(job);
  for (let i = 1; i < list.length; i++) {
    assert.ok(canTransition(list[i - 1] as string, list[i] as string), list.join(" > "));
  }
}

describe("engine interleavings", () => {
  let dir: string;
  let store: JobStore;
  let runtime: ScriptedRuntime;
  let engine: Engine;
  const context = { baseUrl: "http://127.0.0.1:1", userName: "tester" };

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "emulator-engine-"));
    store = new JobStore(dir);
    runtime = new ScriptedRuntime();
    engine = new Engine({ store, runtime, slots: 1, jobsDir: path.join(dir, "jobs"), stopGraceMs: 10 });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a kill while volumes are pulling ends INTERRUPTED without starting the process", async () => {
    const { id } = engine.submit({ image: "x", command: ["true"] }, context);
    await until(engine, id, "INITIALIZING");
    engine.kill(id);
    assert.equal(engine.get(id).status.state, "INTERRUPTING");
    runtime.pull.resolve([]);
    const job = await until(engine, id, "INTERRUPTED");
    assert.deepEqual(states(job), ["QUEUED", "INITIALIZING", "INTERRUPTING", "FINALIZING", "INTERRUPTED"]);
    assert.equal(runtime.started, 0);
    assert.equal(store.get(id)?.status.state, "INTERRUPTED", "the final state is stored");
  });

  test("a kill while the process is starting stops it as soon as it exists", async () => {
    const { id } = engine.submit({ image: "x", command: ["true"] }, context);
    runtime.pull.resolve([]);
    await until(engine, id, "PENDING");
    engine.kill(id);
    runtime.start.resolve(runtime.process());
    runtime.push.resolve();
    const job = await until(engine, id, "INTERRUPTED");
    assert.equal(runtime.stopped, 1);
    assert.ok(!states(job).includes("RUNNING"));
    assertLegal(job);
  });

  test("status.dataSync shows pull progress while INITIALIZING", async () => {
    const { id } = engine.submit(
      { image: "x", volumes: [{ mountPath: "/d", dataStore: { alias: "GRA", container: "c" } }] },
      context,
    );
    await until(engine, id, "INITIALIZING");
    runtime.pullProgress?.({ direction: "pull", volumeIndex: 0, done: 1, total: 4 });
    const mid = store.get(id) as Job;
    assert.equal(mid.status.dataSync?.[0]?.state, "RUNNING");
    assert.equal(mid.status.dataSync?.[0]?.progress, 0.25);
    runtime.pullProgress?.({ direction: "pull", volumeIndex: 0, done: 4, total: 4 });
    assert.equal((store.get(id) as Job).status.dataSync?.[0]?.state, "DONE");
    assert.ok((store.get(id) as Job).status.volumes?.[0]?.lastPulledCreatedAt);
    engine.kill(id);
    runtime.pull.resolve([]);
    await until(engine, id, "INTERRUPTED");
  });

  test("an unexpected runtime failure gives ERROR with a message naming the job", async () => {
    const { id } = engine.submit({ image: "x", command: ["true"] }, context);
    runtime.pull.reject(new Error("disk on fire"));
    const job = await until(engine, id, "ERROR");
    assert.equal(job.status.info?.code, "EMULATOR_ERROR");
    assert.match(job.status.info?.message ?? "", /disk on fire/);
    assert.match(job.status.info?.message ?? "", new RegExp(id));
    assertLegal(job);
  });

  test("a write-back failure gives FAILED with DATA_SYNC_FAILED", async () => {
    const { id } = engine.submit({ image: "x", command: ["true"] }, context);
    runtime.pull.resolve([]);
    const process = runtime.process();
    runtime.start.resolve(process);
    await until(engine, id, "RUNNING");
    process.exit({ exitCode: 0, signal: null });
    await until(engine, id, "FINALIZING");
    runtime.push.reject(new DataSyncError("volume /out: container is read-only"));
    const job = await until(engine, id, "FAILED");
    assert.equal(job.status.info?.code, "DATA_SYNC_FAILED");
    assert.equal(job.status.exitCode, 0);
  });

  test("a process ended by a signal nobody sent gives FAILED naming the signal", async () => {
    const { id } = engine.submit({ image: "x", command: ["true"] }, context);
    runtime.pull.resolve([]);
    const process = runtime.process();
    runtime.start.resolve(process);
    await until(engine, id, "RUNNING");
    process.exit({ exitCode: null, signal: "SIGKILL" });
    runtime.push.resolve();
    const job = await until(engine, id, "FAILED");
    assert.match(job.status.info?.message ?? "", /signal SIGKILL/);
    assert.equal(job.status.exitCode, undefined);
  });

  test("shutdown interrupts the running job and the queued one, and stores both", async () => {
    const first = engine.submit({ image: "x", command: ["true"] }, context);
    const second = engine.submit({ image: "x", command: ["true"] }, context);
    runtime.pull.resolve([]);
    runtime.start.resolve(runtime.process());
    await until(engine, first.id, "RUNNING");
    assert.equal(engine.get(second.id).status.state, "QUEUED", "one slot: the second job waits");
    runtime.push.resolve();
    await engine.shutdown();
    for (const id of [first.id, second.id]) {
      const job = store.get(id) as Job;
      assert.equal(job.status.state, "INTERRUPTED");
      assert.equal(job.status.info?.code, "EMULATOR_SHUTDOWN");
      assertLegal(job);
    }
    assert.throws(() => engine.submit({ image: "x" }, context), /shutting down/);
  });

  test("recover marks jobs left active by a previous process ERROR and asks the runtime to kill leftovers", async () => {
    const { id } = engine.submit({ image: "x", command: ["true"] }, context);
    await until(engine, id, "INITIALIZING");
    // A new engine on the same store stands for the next emulator process.
    const killed: string[] = [];
    const next = new ScriptedRuntime();
    const nextRuntime: Runtime = {
      ...next,
      pullVolumes: next.pullVolumes.bind(next),
      startProcess: next.startProcess.bind(next),
      pushVolumes: next.pushVolumes.bind(next),
      cleanup: next.cleanup.bind(next),
      killLeftovers: async (job) => {
        killed.push(job.id);
        return true;
      },
    };
    const restarted = new Engine({
      store,
      runtime: nextRuntime,
      slots: 1,
      jobsDir: path.join(dir, "jobs"),
      stopGraceMs: 10,
    });
    assert.equal(await restarted.recover(), 1);
    assert.deepEqual(killed, [id]);
    const job = store.get(id) as Job;
    assert.equal(job.status.state, "ERROR");
    assert.equal(job.status.info?.code, "EMULATOR_RESTARTED");
    assert.match(job.status.info?.message ?? "", /leftover processes were killed/);
    // Let the first engine's run end so the test leaves no pending work.
    engine.kill(id);
    runtime.pull.resolve([]);
    await tick();
  });
});
