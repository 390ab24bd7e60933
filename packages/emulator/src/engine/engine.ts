/**
 * The lifecycle engine: drives each job through the platform's states, asking the lifecycle module of
 * `@ai-training/client` which moves are legal, the runtime to move data and run processes, and the store
 * to keep every change. It holds in memory only the jobs that are not final.
 */
import { EventEmitter } from "node:events";
import path from "node:path";
import type { DataSync, Job, JobSpec, StatusInfo } from "@ai-training/client";
import { canTransition, isFinalState } from "@ai-training/client";
import type {
  JobProcess,
  PreparedVolume,
  ProcessExit,
  Runtime,
  RuntimeJob,
  SyncProgress,
} from "../runtime/types.js";
import { DataSyncError, JobStartError } from "../runtime/types.js";
import type { JobStore } from "../store/store.js";
import {
  buildJob,
  checkLabelKey,
  type JobContext,
  PLATFORM_LABEL_PREFIX,
  SpecError,
  withPlatformLabels,
} from "./jobs.js";

/** Raised for a request the job's current state forbids; the message says what to do instead. */
export class JobStateError extends Error {
  override readonly name = "JobStateError";
}

/** Raised when no job has the id. */
export class JobNotFoundError extends Error {
  override readonly name = "JobNotFoundError";
  constructor(readonly jobId: string) {
    super(`job ${jobId} does not exist (it may have been deleted); list jobs with GET /v1/job`);
  }
}

export interface EngineOptions {
  store: JobStore;
  runtime: Runtime;
  /** How many jobs may be past QUEUED at once. */
  slots: number;
  /** Where each job's own folder goes (`JOBS_DIR/<id>`). */
  jobsDir: string;
  /** Grace between SIGTERM and SIGKILL when a job is stopped. */
  stopGraceMs: number;
}

/** Why a running job is being stopped; decides its final state and info. */
type StopReason = { kind: "kill" } | { kind: "timeout" } | { kind: "shutdown" } | { kind: "delete" };

/** A job that is not final, with what the engine needs to drive it. */
interface ActiveJob {
  job: Job;
  runtimeJob: RuntimeJob;
  process?: JobProcess;
  volumes: PreparedVolume[];
  stopReason?: StopReason;
  timeoutTimer?: NodeJS.Timeout;
  /** Settles once the job is final and its slot is free. */
  done: Promise<void>;
  settle: () => void;
}

/**
 * Events: `log:<id>` (line, stream) for each new output line, `final:<id>` when the job becomes final
 * and its slot is free, `deleted:<id>`, and `state` ({ jobId, state, info }) on every change of state.
 */
export class Engine extends EventEmitter {
  private readonly store: JobStore;
  private readonly runtime: Runtime;
  private readonly slots: number;
  private readonly jobsDir: string;
  private readonly stopGraceMs: number;
  private readonly active = new Map<string, ActiveJob>();
  /** Ids waiting in QUEUED, first in first out. */
  private readonly queue: string[] = [];
  private busySlots = 0;
  private closing = false;

  constructor(options: EngineOptions) {
    super();
    this.setMaxListeners(0);
    this.store = options.store;
    this.runtime = options.runtime;
    this.slots = options.slots;
    this.jobsDir = options.jobsDir;
    this.stopGraceMs = options.stopGraceMs;
  }

  /**
   * Marks ERROR every job a previous emulator process left in a state that is not final: nothing runs
   * it any more, and saying so beats leaving it RUNNING forever. What its processes left running is
   * killed first (when the runtime can). Returns how many jobs were marked.
   */
  async recover(): Promise<number> {
    const orphans = this.store.listNotFinal();
    for (const job of orphans) {
      const runtimeJob: RuntimeJob = { id: job.id, spec: job.spec, jobDir: path.join(this.jobsDir, job.id) };
      const killed = await this.runtime.killLeftovers?.(runtimeJob).catch(() => false);
      this.setState(job, "ERROR", {
        code: "EMULATOR_RESTARTED",
        message:
          `the emulator stopped while job ${job.id} was ${job.status.state}` +
          `${killed ? " (its leftover processes were killed)" : ""}; ` +
          `submit it again or restart it with PUT /v1/job/${job.id}/start`,
      });
      this.store.update(job);
      await this.runtime.cleanup(runtimeJob, []).catch(() => undefined);
    }
    return orphans.length;
  }

  /**
   * Validates and stores a new job, QUEUED, and schedules it. Returns its id and its JSON answer as
   * created (QUEUED), taken before the engine moves it on. Throws SpecError/ResourcesError.
   */
  submit(spec: JobSpec, context: JobContext): { id: string; doc: string } {
    if (this.closing) {
      throw new JobStateError("the emulator is shutting down; submit the job again once it restarts");
    }
    const job = buildJob(spec, context);
    const doc = JSON.stringify(job);
    this.store.insert(job);
    this.enqueue(job);
    return { id: job.id, doc };
  }

  /** The stored answer of a job as JSON text, or undefined. */
  getDoc(id: string): string | undefined {
    return this.store.getDoc(id);
  }

  /** The job, or throws JobNotFoundError. Active jobs come from memory, the rest from the store. */
  get(id: string): Job {
    const active = this.active.get(id);
    if (active) return active.job;
    const job = this.store.get(id);
    if (!job) throw new JobNotFoundError(id);
    return job;
  }

  /** True when the job exists and is not final. */
  isActive(id: string): boolean {
    const active = this.active.get(id);
    return active !== undefined && !isFinalState(active.job.status.state);
  }

  /**
   * Asks a job to stop. QUEUED goes straight to INTERRUPTED; a job past QUEUED goes through
   * INTERRUPTING and FINALIZING. A final job, or one already stopping, is left as it is.
   */
  kill(id: string, reason: StopReason = { kind: "kill" }): void {
    const active = this.active.get(id);
    if (!active) {
      this.get(id); // throws JobNotFoundError for an unknown id; a final job needs nothing
      return;
    }
    this.requestStop(active, reason);
  }

  /** Restarts a final job: back to QUEUED with a fresh run. */
  start(id: string): void {
    const job = this.get(id);
    if (!isFinalState(job.status.state)) {
      throw new JobStateError(
        `job ${id} is ${job.status.state}, not ended; only an ended job can be restarted (stop it first with PUT /v1/job/${id}/kill)`,
      );
    }
    if (this.closing)
      throw new JobStateError("the emulator is shutting down; restart the job once it is back");
    const status = job.status;
    for (const field of ["initializingAt", "startedAt", "stoppedAt", "finalizedAt", "timeoutAt"] as const) {
      delete status[field];
    }
    delete status.exitCode;
    delete status.duration;
    delete status.info;
    status.dataSync = [];
    this.setState(job, "QUEUED");
    status.queuedAt = job.updatedAt;
    this.store.update(job);
    // The previous run may still be cleaning its folders up; the new one starts after it.
    const previous = this.active.get(id);
    if (previous) {
      void previous.done.then(() => {
        if (job.status.state === "QUEUED") this.enqueue(job);
      });
    } else this.enqueue(job);
  }

  /**
   * Deletes a job. A job that is not final needs `force`; it is then stopped first and deleted once
   * final. Resolves when the job is gone.
   */
  async delete(id: string, force: boolean): Promise<void> {
    const active = this.active.get(id);
    if (active && isFinalState(active.job.status.state)) {
      await active.done; // ended, its folders still being cleaned up
    } else if (active) {
      if (!force) {
        throw new JobStateError(
          `job ${id} is ${active.job.status.state} and not ended; stop it first (PUT /v1/job/${id}/kill) or delete it with force=true`,
        );
      }
      this.requestStop(active, { kind: "delete" });
      await active.done;
    } else {
      this.get(id);
    }
    this.store.delete(id);
    this.emit(`deleted:${id}`);
  }

  /** Sets a label (or removes it with a null value). Keys `ovh/` belong to the platform. */
  setLabel(id: string, name: string, value: string | null): void {
    if (name.startsWith(PLATFORM_LABEL_PREFIX)) {
      throw new SpecError(
        `label name '${name}' is reserved: keys starting with ${PLATFORM_LABEL_PREFIX} belong to the platform; pick another name`,
      );
    }
    checkLabelKey(name, "label");
    const job = this.get(id);
    const labels = { ...(job.spec.labels ?? {}) };
    if (value === null) delete labels[name];
    else labels[name] = value;
    job.spec.labels = withPlatformLabels(labels, job);
    job.updatedAt = new Date().toISOString();
    this.store.update(job, true);
  }

  /**
   * Stops taking jobs, interrupts every job not final (QUEUED ones at once, running ones through the
   * runtime's stop) and waits until all are final and stored.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    const waits: Promise<void>[] = [];
    for (const active of [...this.active.values()]) {
      this.requestStop(active, { kind: "shutdown" });
      waits.push(active.done);
    }
    await Promise.all(waits);
  }

  private enqueue(job: Job): void {
    let settle!: () => void;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const active: ActiveJob = {
      job,
      runtimeJob: { id: job.id, spec: job.spec, jobDir: path.join(this.jobsDir, job.id) },
      volumes: [],
      done,
      settle,
    };
    this.active.set(job.id, active);
    this.queue.push(job.id);
    this.schedule();
  }

  /** Starts queued jobs while slots are free. */
  private schedule(): void {
    while (this.busySlots < this.slots && this.queue.length > 0) {
      const id = this.queue.shift() as string;
      const active = this.active.get(id);
      if (active?.job.status.state !== "QUEUED") continue;
      this.busySlots += 1;
      void this.run(active).finally(() => {
        this.busySlots -= 1;
        this.schedule();
      });
    }
  }

  private requestStop(active: ActiveJob, reason: StopReason): void {
    const { job } = active;
    if (active.stopReason) return;
    if (job.status.state === "QUEUED") {
      const index = this.queue.indexOf(job.id);
      if (index >= 0) this.queue.splice(index, 1);
      active.stopReason = reason;
      this.transition(active, "INTERRUPTED", stopInfo(reason, job));
      this.finish(active);
      return;
    }
    if (!canTransition(job.status.state, "INTERRUPTING")) return; // already stopping or finalizing
    active.stopReason = reason;
    this.transition(active, "INTERRUPTING");
    // A job still initializing has no process yet; `run` checks stopReason once the step ends.
    void active.process?.stop(this.stopGraceMs);
  }

  /** The whole life of one job past QUEUED. Never throws: any failure of the emulator gives ERROR. */
  private async run(active: ActiveJob): Promise<void> {
    const { job, runtimeJob } = active;
    try {
      this.transition(active, "INITIALIZING");
      try {
        active.volumes = await this.runtime.pullVolumes(runtimeJob, (p) => this.onSync(active, p));
      } catch (error) {
        if (!(error instanceof DataSyncError)) throw error;
        this.failSync(active, "pull");
        this.appendLog(job.id, `the job's data could not be synchronised: ${error.message}`, "stderr");
        if (active.stopReason) return await this.finalize(active, undefined);
        this.transition(active, "FAILED", { code: "DATA_SYNC_FAILED", message: error.message });
        return;
      }
      if (active.stopReason) return await this.finalize(active, undefined);

      this.transition(active, "PENDING");
      let process: JobProcess;
      try {
        process = await this.runtime.startProcess(runtimeJob, active.volumes, (line, stream) =>
          this.appendLog(job.id, line, stream),
        );
      } catch (error) {
        if (!(error instanceof JobStartError)) throw error;
        this.appendLog(job.id, `the job could not start: ${error.message}`, "stderr");
        if (active.stopReason) return await this.finalize(active, undefined);
        this.transition(active, "FAILED", { code: "START_FAILED", message: error.message });
        return;
      }
      active.process = process;
      if (active.stopReason) {
        const exit = await process.stop(this.stopGraceMs);
        return await this.finalize(active, exit);
      }

      this.transition(active, "RUNNING");
      this.armTimeout(active, Date.now() + (job.spec.timeout ?? 0) * 1000);
      const exit = await process.exited;
      clearTimeout(active.timeoutTimer);
      await this.finalize(active, exit);
    } catch (error) {
      clearTimeout(active.timeoutTimer);
      await active.process?.stop(this.stopGraceMs).catch(() => undefined);
      const message = error instanceof Error ? error.message : String(error);
      this.appendLog(job.id, `emulator error: ${message}`, "stderr");
      if (!isFinalState(job.status.state)) {
        this.transition(active, "ERROR", {
          code: "EMULATOR_ERROR",
          message: `the emulator failed while job ${job.id} was ${job.status.state}: ${message}`,
        });
      }
    } finally {
      await this.runtime.cleanup(runtimeJob, active.volumes).catch(() => undefined);
      this.finish(active);
    }
    if (active.stopReason?.kind === "timeout" && job.spec.timeoutAutoRestart && !this.closing) {
      this.appendLog(job.id, "timeoutAutoRestart: the job reached its timeout and is queued again", "stderr");
      this.start(job.id);
    }
  }

  /** FINALIZING, writing writable volumes back, then the final state the exit and stop reason decide. */
  private async finalize(active: ActiveJob, exit: ProcessExit | undefined): Promise<void> {
    const { job } = active;
    if (exit) {
      job.status.stoppedAt = new Date().toISOString();
      if (exit.exitCode !== null) job.status.exitCode = exit.exitCode;
      if (job.status.startedAt) {
        job.status.duration = Math.round(
          (Date.parse(job.status.stoppedAt) - Date.parse(job.status.startedAt)) / 1000,
        );
      }
    }
    this.transition(active, "FINALIZING");
    if (exit) {
      try {
        await this.runtime.pushVolumes(active.runtimeJob, active.volumes, (p) => this.onSync(active, p));
      } catch (error) {
        if (!(error instanceof DataSyncError)) throw error;
        this.failSync(active, "push");
        this.transition(active, "FAILED", {
          code: "DATA_SYNC_FAILED",
          message: `job ${job.id} ran but its volumes could not be written back: ${error.message}`,
        });
        return;
      }
    }
    const reason = active.stopReason;
    if (reason) {
      this.transition(active, "INTERRUPTED", stopInfo(reason, job));
    } else if (exit && exit.exitCode === 0) {
      this.transition(active, "DONE");
    } else {
      const how =
        exit?.exitCode != null ? `exit code ${exit.exitCode}` : `signal ${exit?.signal ?? "unknown"}`;
      this.transition(active, "FAILED", {
        code: "JOB_FAILED",
        message: `job ${job.id}'s command ended with ${how}; read its log (GET /v1/job/${job.id}/log)`,
      });
    }
  }

  /** Node timers hold at most about 24.8 days, so a longer timeout is reached in several steps. */
  private armTimeout(active: ActiveJob, deadline: number): void {
    if (!active.job.spec.timeout) return;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      this.onTimeout(active);
      return;
    }
    active.timeoutTimer = setTimeout(
      () => this.armTimeout(active, deadline),
      Math.min(remaining, 2 ** 31 - 1),
    );
  }

  private onTimeout(active: ActiveJob): void {
    if (active.stopReason || active.job.status.state !== "RUNNING") return;
    active.stopReason = { kind: "timeout" };
    active.job.status.timeoutAt = new Date().toISOString();
    this.transition(active, "TIMEOUT");
    void active.process?.stop(this.stopGraceMs);
  }

  private onSync(active: ActiveJob, progress: SyncProgress): void {
    const { job } = active;
    const now = new Date().toISOString();
    const id = `${job.id}-${progress.direction}-${progress.volumeIndex}`;
    const list: DataSync[] = job.status.dataSync ?? [];
    let entry = list.find((d) => d.id === id);
    if (!entry) {
      entry = { id, direction: progress.direction, state: "RUNNING", progress: 0, createdAt: now };
      list.push(entry);
    }
    entry.progress = progress.total > 0 ? Math.min(1, progress.done / progress.total) : 1;
    entry.state = progress.done >= progress.total ? "DONE" : "RUNNING";
    entry.updatedAt = now;
    entry.info = `${progress.done}/${progress.total} objects`;
    job.status.dataSync = list;
    const volumeStatus = job.status.volumes?.[progress.volumeIndex];
    if (volumeStatus && entry.state === "DONE") {
      if (progress.direction === "pull") volumeStatus.lastPulledCreatedAt = now;
      else volumeStatus.lastPushedCreatedAt = now;
    }
    job.updatedAt = now;
    this.store.update(job);
  }

  /** Marks the running synchronisations of one direction FAILED, so status.dataSync tells where it broke. */
  private failSync(active: ActiveJob, direction: "pull" | "push"): void {
    for (const entry of active.job.status.dataSync ?? []) {
      if (entry.direction === direction && entry.state !== "DONE") entry.state = "FAILED";
    }
  }

  private appendLog(jobId: string, line: string, stream: "stdout" | "stderr"): void {
    this.store.appendLog(jobId, stream, line);
    this.emit(`log:${jobId}`, line, stream);
  }

  /** Moves the job to `state` if the lifecycle allows it, records it and stores the job. */
  private transition(active: ActiveJob, state: string, info?: StatusInfo): void {
    const from = active.job.status.state;
    if (!canTransition(from, state)) {
      throw new Error(`illegal transition of job ${active.job.id} from ${from} to ${state}`);
    }
    this.setState(active.job, state, info);
    this.store.update(active.job);
  }

  private setState(job: Job, state: string, info?: StatusInfo): void {
    const date = new Date().toISOString();
    const status = job.status;
    status.state = state;
    status.history.push({ state, date });
    this.emit("state", { jobId: job.id, state, ...(info ? { info } : {}) });
    status.lastTransitionDate = date;
    job.updatedAt = date;
    if (info) status.info = info;
    if (state === "INITIALIZING") status.initializingAt = date;
    if (state === "RUNNING") status.startedAt = date;
    if (isFinalState(state)) status.finalizedAt = date;
  }

  /** The job is final: free it, tell followers. Restarting it later makes a new ActiveJob. */
  private finish(active: ActiveJob): void {
    clearTimeout(active.timeoutTimer);
    if (this.active.get(active.job.id) === active) this.active.delete(active.job.id);
    active.settle();
    this.emit(`final:${active.job.id}`);
  }
}

function stopInfo(reason: StopReason, job: Job): StatusInfo {
  switch (reason.kind) {
    case "timeout":
      return {
        code: "TIMEOUT",
        message: `job ${job.id} reached its timeout of ${job.spec.timeout} s RUNNING and was stopped; raise spec.timeout if it needs longer`,
      };
    case "shutdown":
      return {
        code: "EMULATOR_SHUTDOWN",
        message: `the emulator was shut down while job ${job.id} was active`,
      };
    case "delete":
      return { code: "DELETED", message: `job ${job.id} was stopped to be deleted (force=true)` };
    default:
      return { code: "KILLED", message: `job ${job.id} was stopped on request (PUT /v1/job/${job.id}/kill)` };
  }
}
