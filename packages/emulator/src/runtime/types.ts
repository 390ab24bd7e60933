/**
 * The seam between the emulator's lifecycle engine and its runtime. The engine decides states; the
 * runtime moves data and runs processes. Nothing here knows about HTTP or the store.
 */
import type { JobSpec } from "@ai-training/client";

/** A volume made ready on the host during INITIALIZING, to be mounted at `mountPath` in the job. */
export interface PreparedVolume {
  /** Index of the volume in `spec.volumes`. */
  index: number;
  mountPath: string;
  permission: "RO" | "RW" | "RWD";
  /** Host folder whose content the job sees at `mountPath`. */
  hostPath: string;
  /** Where the content came from, so FINALIZING can write writable volumes back. */
  source:
    | { kind: "dataStore"; alias: string; container: string; prefix: string }
    | { kind: "publicGit"; url: string }
    | { kind: "standalone" };
  cache: boolean;
}

export interface RuntimeJob {
  id: string;
  spec: JobSpec;
  /** The job's own folder on the host; the runtime may create anything beneath it. */
  jobDir: string;
}

/** Progress of one data synchronisation, reported as it goes so `status.dataSync` stays live. */
export interface SyncProgress {
  direction: "pull" | "push";
  volumeIndex: number;
  done: number;
  total: number;
}

export interface ProcessExit {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface JobProcess {
  readonly pid: number;
  /** Resolves once the process and everything it started have ended. */
  readonly exited: Promise<ProcessExit>;
  /** SIGTERM to the process group, then SIGKILL after `graceMs`. Resolves when it has exited. */
  stop(graceMs: number): Promise<ProcessExit>;
}

/** Raised when the command cannot start (missing executable, no way to mount volumes, ...). */
export class JobStartError extends Error {
  override readonly name = "JobStartError";
}

/** Raised when a data synchronisation fails; the message says which volume and why. */
export class DataSyncError extends Error {
  override readonly name = "DataSyncError";
}

export interface Runtime {
  /** INITIALIZING: copy each volume's objects into a host folder (or reuse a cached one). */
  pullVolumes(job: RuntimeJob, onProgress?: (p: SyncProgress) => void): Promise<PreparedVolume[]>;
  /**
   * PENDING to RUNNING: start `spec.command` with `spec.envVars`, the image's files (if the emulator
   * knows the image) in the working directory, and each volume at its mount path (RO read-only).
   * Each output line reaches `onOutput` in the order it was written.
   */
  startProcess(
    job: RuntimeJob,
    volumes: PreparedVolume[],
    onOutput: (line: string, stream: "stdout" | "stderr") => void,
  ): Promise<JobProcess>;
  /** FINALIZING: write RW volumes back (adds and changes) and RWD volumes back (deletions too). */
  pushVolumes(
    job: RuntimeJob,
    volumes: PreparedVolume[],
    onProgress?: (p: SyncProgress) => void,
  ): Promise<void>;
  /** Remove the job's scratch folders that are not cached. */
  cleanup(job: RuntimeJob, volumes: PreparedVolume[]): Promise<void>;
  /**
   * On emulator start, for a job the store still holds as active: kill what its processes left running
   * when the previous emulator died without stopping them. Resolves true when it signalled something.
   */
  killLeftovers?(job: RuntimeJob): Promise<boolean>;
}
