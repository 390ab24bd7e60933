/**
 * `@ai-training/emulator/testing`: starts a real emulator process for tests over HTTP, on 127.0.0.1
 * with a free port, a temporary data folder and fresh tokens, and stops it without leaving a process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** How to start the emulator process; everything is optional. */
export interface EmulatorProcessOptions {
  /** Jobs that may run at once (`--slots`). */
  slots?: number;
  /** Image name -> folder whose files the image holds in `/workspace` (`--image IMAGE=DIR`). */
  images?: Record<string, string>;
  /** Fault injection, off when not given. */
  faults?: {
    rate429?: number;
    rate503?: number;
    latencyMs?: number;
    dropRate?: number;
    seed?: number;
    /** Seconds announced in Retry-After on injected 429/503 answers (1 when not given). */
    retryAfterSeconds?: number;
  };
  /**
   * An existing data folder (kept on stop). When not given, the emulator makes a temporary one, removed
   * once the emulator process exits, however it ends (or when this process exits first).
   */
  dataDir?: string;
  /** The operator token; a random one when not given. */
  token?: string;
  /** The read token; a random one when not given. */
  readToken?: string;
  /** Grace between SIGTERM and SIGKILL when a job is stopped (`--stop-grace-ms`); 2000 when not given. */
  stopGraceMs?: number;
  /** More command-line arguments, appended as given. */
  args?: string[];
  /** Extra environment for the emulator process. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for `listening on` before giving up; 20 s when not given. */
  startTimeoutMs?: number;
}

/** A running emulator process. */
export interface EmulatorProcess {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** An operator token. */
  token: string;
  /** A read-only token. */
  readToken: string;
  dataDir: string;
  pid: number;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  /**
   * Sends a signal without waiting (e.g. SIGKILL to simulate a crash); `exited` tells when it is gone (and
   * with it a temporary data folder).
   */
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after 15 s; a temporary data folder is gone once it resolves. */
  stop(): Promise<void>;
}

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.js");

/**
 * Every child still running, with the temporary data folder it made (if any): killed, and the folder
 * removed, if the test process exits without stopping them.
 */
const children = new Map<ChildProcess, string | undefined>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const [child, temporaryDir] of children) {
      child.kill("SIGKILL");
      if (temporaryDir) rmSync(temporaryDir, { recursive: true, force: true });
    }
  });
}

/** The line the emulator writes on stderr, before `listening on`, when it made its own data folder. */
const TEMPORARY_DATA_DIR = /^data dir \(temporary, removed on exit\): (.+)$/m;

/** Spawns `node dist/src/main.js` and resolves once it prints `listening on`. */
export async function startEmulatorProcess(options: EmulatorProcessOptions = {}): Promise<EmulatorProcess> {
  installExitHook();
  // Without a folder from the caller, the emulator makes its own and removes it when it exits, even when
  // it exits because this process died (its stdin closes): nothing is left in the temp folder either way.
  const ownDataDir = options.dataDir === undefined;
  const token = options.token ?? `op-${randomBytes(12).toString("hex")}`;
  const readToken = options.readToken ?? `ro-${randomBytes(12).toString("hex")}`;
  const args = [
    MAIN,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    ...(ownDataDir ? [] : ["--data-dir", path.resolve(options.dataDir as string)]),
    "--stop-grace-ms",
    String(options.stopGraceMs ?? 2000),
    // If this test process dies without stopping the emulator (even by SIGKILL), the emulator's stdin
    // closes and it stops its jobs and exits: no orphan either way.
    "--stop-on-stdin-close",
  ];
  if (options.slots !== undefined) args.push("--slots", String(options.slots));
  for (const [image, dir] of Object.entries(options.images ?? {})) args.push("--image", `${image}=${dir}`);
  const faults = options.faults ?? {};
  if (faults.rate429 !== undefined) args.push("--fault-rate-429", String(faults.rate429));
  if (faults.rate503 !== undefined) args.push("--fault-rate-503", String(faults.rate503));
  if (faults.latencyMs !== undefined) args.push("--fault-latency-ms", String(faults.latencyMs));
  if (faults.dropRate !== undefined) args.push("--fault-drop-rate", String(faults.dropRate));
  if (faults.seed !== undefined) args.push("--fault-seed", String(faults.seed));
  if (faults.retryAfterSeconds !== undefined)
    args.push("--fault-retry-after", String(faults.retryAfterSeconds));
  args.push(...(options.args ?? []));

  const child = spawn(process.execPath, args, {
    stdio: ["pipe", "pipe", "pipe"],
    // Tokens go through the environment: on the command line every user of the host would see them in `ps`.
    env: {
      ...process.env,
      ...options.env,
      OVH_AI_TRAINING_TOKEN: token,
      OVH_AI_TRAINING_READ_TOKEN: readToken,
      // An inherited data folder would replace the temporary one the emulator makes for us.
      OVH_AI_TRAINING_DATA_DIR: "",
    },
  });
  children.set(child, undefined);
  let dataDir = ownDataDir ? "" : path.resolve(options.dataDir as string);
  let stderr = "";
  let sawDataDir = !ownDataDir;
  let onStderr: () => void = () => undefined;
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    const match = sawDataDir ? undefined : TEMPORARY_DATA_DIR.exec(stderr);
    if (match?.[1]) {
      sawDataDir = true;
      dataDir = match[1];
      if (children.has(child)) children.set(child, dataDir);
    }
    onStderr();
  });
  /** The emulator removes its own folder on a clean stop; this covers one killed by a signal. */
  const removeDataDir = () => {
    if (ownDataDir && dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      children.delete(child);
      removeDataDir();
      resolve({ code, signal });
    });
  });

  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      let stdout = "";
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `the emulator did not print 'listening on' within ${options.startTimeoutMs ?? 20_000} ms; stderr: ${stderr}`,
            ),
          ),
        options.startTimeoutMs ?? 20_000,
      );
      // Ready once it listens and, when it made its own data folder, once its stderr said where.
      const ready = () => {
        const match = /listening on (http:\/\/\S+)/.exec(stdout);
        if (match?.[1] && sawDataDir) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      onStderr = ready;
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        ready();
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(
          new Error(
            `the emulator exited (code ${code}, signal ${signal}) before listening; stderr: ${stderr}`,
          ),
        );
      });
    });
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw error;
  }
  // Keep draining stdout so a chatty process never blocks on a full pipe.
  child.stdout?.resume();

  let stopping: Promise<void> | undefined;
  return {
    url,
    token,
    readToken,
    dataDir,
    pid: child.pid as number,
    stderr: () => stderr,
    kill: (signal) => {
      child.kill(signal);
    },
    exited,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
          await exited;
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
  };
}
