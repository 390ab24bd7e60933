/**
 * One emulator: store, runtime, lifecycle engine and HTTP server wired together, started and stopped
 * as a unit. `ai-training emulator` and `main.js` run one of these in a process of its own.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { Engine } from "./engine/engine.js";
import { createRuntime, type HostRuntime } from "./runtime/index.js";
import { buildApp } from "./server/app.js";
import { TokenRegistry } from "./server/auth.js";
import { loadContract } from "./server/contract.js";
import { type FaultOptions, NO_FAULTS } from "./server/faults.js";
import { JobStore } from "./store/store.js";

/** Everything an emulator can be started with; the command line maps onto it. */
export interface EmulatorOptions {
  /** Loopback by default; another address needs `allowRemote`. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** A new temporary folder, removed by `close()`, when not given. */
  dataDir?: string;
  operatorTokens: string[];
  readTokens?: string[];
  /** How many jobs may be past QUEUED at once. */
  slots?: number;
  /** Image name -> host folder whose files that image holds in `/workspace`. */
  images?: Record<string, string>;
  faults?: FaultOptions;
  /** Grace between SIGTERM and SIGKILL when a job is stopped. */
  stopGraceMs?: number;
  /** Bind an address other than loopback (the emulator has no TLS; tokens would cross the network). */
  allowRemote?: boolean;
  /**
   * Create missing mount points outside /workspace on the host (they stay after the job); off by default,
   * where such a job fails to start saying what to do.
   */
  createMountPoints?: boolean;
  /** Log requests at this pino level on stderr; quiet when undefined. */
  logLevel?: string;
}

/** A started emulator. */
export interface RunningEmulator {
  url: string;
  dataDir: string;
  /** True when the emulator made `dataDir` itself (no `dataDir` option): `close()` then removes it. */
  temporary: boolean;
  /** How many jobs a previous process left active and were marked ERROR at start. */
  recovered: number;
  /** Interrupts active jobs, stores them, stops the server, closes the store and removes a temporary dataDir. */
  close(): Promise<void>;
}

export const DEFAULT_SLOTS = 4;
export const DEFAULT_STOP_GRACE_MS = 10_000;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** True when `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith("127.");
}

/**
 * Takes `DATA_DIR/emulator.pid` for this process, or throws when a live emulator holds it: two emulators
 * on one data folder would each mark the other's running jobs ERROR. A lock left by a dead process is
 * taken over. Returns the function that releases it.
 */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, "emulator.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx" });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(file, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(
          `data dir ${dataDir} is in use by the emulator with pid ${holder}; stop it, or give this one another --data-dir`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take the lock ${file}; remove it if no emulator uses ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Starts an emulator and resolves once it accepts requests. */
export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopback(host) && !options.allowRemote) {
    throw new Error(
      `refusing to listen on ${host}: the emulator has no TLS and would expose its tokens; ` +
        "use --host 127.0.0.1, or pass --allow-remote if you really mean it",
    );
  }
  if (options.operatorTokens.length === 0) throw new Error("the emulator needs at least one operator token");
  const temporary = options.dataDir === undefined;
  const dataDir = path.resolve(
    options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "ai-training-emulator-")),
  );
  /** Removes the data folder when this emulator made it; a folder the caller chose is never touched. */
  const removeTemporary = () => {
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
  };
  const stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  let unlock: () => void;
  let store: JobStore;
  try {
    unlock = lockDataDir(dataDir);
  } catch (error) {
    removeTemporary();
    throw error;
  }
  try {
    store = new JobStore(dataDir);
  } catch (error) {
    unlock();
    removeTemporary();
    throw error;
  }
  let runtime: HostRuntime | undefined;
  let app: FastifyInstance | undefined;
  try {
    runtime = createRuntime({
      dataDir,
      images: options.images ?? {},
      graceMs: stopGraceMs,
      createMountPoints: options.createMountPoints ?? false,
    });
    const engine = new Engine({
      store,
      runtime,
      slots: options.slots ?? DEFAULT_SLOTS,
      jobsDir: path.join(dataDir, "jobs"),
      stopGraceMs,
    });
    const recovered = await engine.recover();
    let url = "";
    app = buildApp({
      contract: loadContract(),
      engine,
      store,
      tokens: new TokenRegistry(options.operatorTokens, options.readTokens ?? []),
      faults: options.faults ?? NO_FAULTS,
      baseUrl: () => url,
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    });
    if (options.logLevel) {
      // One line per change of state, keyed by job id (these lines belong to no request).
      const log = app.log.child({ component: "engine" });
      engine.on("state", (change: { jobId: string; state: string; info?: { code?: string } }) => {
        log.info({ jobId: change.jobId, state: change.state, code: change.info?.code }, "job state");
      });
    }
    await app.listen({ host, port: options.port ?? 0 });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

    const started = app;
    const startedRuntime = runtime;
    let closing: Promise<void> | undefined;
    return {
      url,
      dataDir,
      temporary,
      recovered,
      close: () => {
        closing ??= (async () => {
          await engine.shutdown();
          await startedRuntime.stopAll(stopGraceMs);
          await started.close();
          store.close();
          unlock();
          removeTemporary();
        })();
        return closing;
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await runtime?.stopAll(0).catch(() => undefined);
    store.close();
    unlock();
    removeTemporary();
    throw error;
  }
}
