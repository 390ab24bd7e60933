/**
 * Child processes for the root scripts (test, demo, bench): each child gets its own process group so it
 * can be ended with everything it started, every live child is tracked, and all of them are ended when the
 * script fails, is interrupted, or exits. No script leaves a server or a job behind.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, rmSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

/** Seconds between two "still running" lines of a long command. */
const heartbeatMs = 20_000;

/** @type {Set<import("node:child_process").ChildProcess>} */
const live = new Set();

/** Other things to stop with the children, each `{ stop(): Promise<void> }` (an emulator process). */
const handles = new Set();

/** Stops `handle` with the children when the script fails or is interrupted; returns a function that forgets it. */
export function stopWithChildren(handle) {
  handles.add(handle);
  return () => handles.delete(handle);
}

/** Ends every tracked child's process group (SIGTERM now, SIGKILL after `graceMs`) and stops every handle. */
export async function stopAll(graceMs = 5000) {
  await Promise.all([
    ...[...live].map((child) => stopChild(child, graceMs)),
    ...[...handles].map((handle) => handle.stop()),
  ]);
}

/** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  signalGroup(child, "SIGTERM");
  const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  // The leader may be gone while something it started still runs in the group.
  signalGroup(child, "SIGKILL");
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

let handlersInstalled = false;

/** Temporary folders to remove when the script exits, however it exits. */
const temporary = new Set();

/** Removes `dir` when the script exits (also on Ctrl-C); returns a function that removes it now. */
export function removeOnExit(dir) {
  temporary.add(dir);
  return () => {
    temporary.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * Installs the handlers that end all children when the script is interrupted or exits. `onInterrupt`
 * runs first on SIGINT/SIGTERM/SIGHUP (to say what was interrupted); the process then exits as a shell
 * reports a death by that signal, 128 + its number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
 */
export function installCleanup(onInterrupt = () => {}) {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, async () => {
      onInterrupt(signal);
      await stopAll(2000);
      process.exit(128 + constants.signals[signal]);
    });
  }
  process.on("exit", () => {
    for (const child of live) signalGroup(child, "SIGKILL");
    for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
  });
}

/** Runs a command and ends its process group when this script dies (see guard.mjs). */
const GUARD = fileURLToPath(new URL("./guard.mjs", import.meta.url));

/**
 * Starts a tracked child in its own process group. stdout/stderr are piped unless `stdio` says otherwise.
 * Unless the caller needs its stdin, the child runs under guard.mjs, holding a pipe from this script as its
 * stdin: when this script dies, even by SIGKILL, the pipe closes and the guard ends the child's group.
 * @returns {import("node:child_process").ChildProcess}
 */
export function start(command, args, options = {}) {
  const stdio = options.stdio ?? ["ignore", "pipe", "pipe"];
  const guarded = stdio[0] === "ignore";
  const child = spawn(guarded ? process.execPath : command, guarded ? [GUARD, command, ...args] : args, {
    ...options,
    stdio: guarded ? ["pipe", ...stdio.slice(1)] : stdio,
    detached: true,
  });
  live.add(child);
  child.on("exit", () => live.delete(child));
  child.on("error", () => live.delete(child));
  return child;
}

/**
 * Runs a command to its end. Output is kept (last `keep` characters of each stream) and, when `logFile`
 * is given, written there in full; `onLine` sees each line of both streams as it comes; `heartbeat`, when
 * given, is called with a "still running" line every 20 s.
 * Never throws for a non-zero exit: the caller decides what the exit code means.
 * @returns {Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string, ms: number, error?: Error }>}
 */
export async function run(command, args, options = {}) {
  const { logFile, onLine, timeoutMs, keep = 200_000, input, heartbeat, ...spawnOptions } = options;
  const startedAt = Date.now();
  // A long quiet command (npm ci compiling better-sqlite3, pip resolving Airflow) still shows it is alive.
  const beat = heartbeat
    ? setInterval(
        () => heartbeat(`... still running (${Math.round((Date.now() - startedAt) / 1000)} s)`),
        heartbeatMs,
      )
    : undefined;
  const child = start(command, args, {
    ...spawnOptions,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  const log = logFile ? createWriteStream(logFile) : null;
  const kept = { stdout: "", stderr: "" };
  const pending = { stdout: "", stderr: "" };
  for (const stream of /** @type {const} */ (["stdout", "stderr"])) {
    child[stream].setEncoding("utf8");
    child[stream].on("data", (chunk) => {
      log?.write(chunk);
      kept[stream] = (kept[stream] + chunk).slice(-keep);
      if (!onLine) return;
      const lines = (pending[stream] + chunk).split("\n");
      pending[stream] = lines.pop() ?? "";
      for (const line of lines) onLine(line, stream);
    });
  }
  if (input !== undefined) child.stdin.end(input);
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stopChild(child, 3000);
        }, timeoutMs);
  let error;
  const [code, signal] = await new Promise((resolve) => {
    child.on("error", (err) => {
      error = err;
      resolve([null, null]);
    });
    child.on("close", (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  clearInterval(beat);
  if (onLine) {
    for (const stream of /** @type {const} */ (["stdout", "stderr"]))
      if (pending[stream]) onLine(pending[stream], stream);
  }
  if (log) await new Promise((resolve) => log.end(resolve));
  if (timedOut) error = new Error(`timed out after ${Math.round(timeoutMs / 1000)} s`);
  return { code, signal, stdout: kept.stdout, stderr: kept.stderr, ms: Date.now() - startedAt, error };
}

/** The last `n` non-empty lines of a text, for a failure message. */
export function tail(text, n = 20) {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(-n)
    .join("\n");
}
