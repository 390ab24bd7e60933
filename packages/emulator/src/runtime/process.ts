import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { LineSplitter } from "./lines.js";
import type { LaunchPlan } from "./sandbox.js";
import type { JobProcess, ProcessExit } from "./types.js";

/** How long to wait for the output pipes to close once the job's process group is gone. */
const PIPE_DRAIN_MS = 2000;

/** Every job process still alive in this Node process, killed if it exits without stopping them. */
const live = new Set<HostJobProcess>();
let exitHookInstalled = false;

/** What the wrapper reported on fd 3 before running the command, or why it could not. */
export type LaunchOutcome =
  | { started: true; process: JobProcess }
  | { started: false; reason: string; detail: string; output: string[]; spawnError?: NodeJS.ErrnoException };

/**
 * Spawns `plan` detached (its own session and process group, so one signal reaches everything the job
 * starts) and waits until the wrapper says the command is about to be exec'd, or that it cannot be.
 *
 * Output: each stream's lines keep their order; between stdout and stderr, lines go out in the order the
 * emulator reads them, which is the order written unless both pipes filled within the same instant (two
 * pipes carry no common clock). Known shortcoming: a process that leaves the job's process group (setsid,
 * a daemon) is not stopped with the job.
 */
export async function launch(
  plan: LaunchPlan,
  env: Record<string, string>,
  onOutput: (line: string, stream: "stdout" | "stderr") => void,
): Promise<LaunchOutcome> {
  installExitHook();
  const child = spawn(plan.file, plan.args, {
    cwd: plan.cwd,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });

  // Lines written before the command starts come from the wrapper itself (a mount error, say); they belong
  // in the start error, not in the job's log.
  let started = false;
  const early: string[] = [];
  const deliver = (line: string, stream: "stdout" | "stderr") => {
    if (!started) return void early.push(line);
    try {
      onOutput(line, stream);
    } catch {
      // A failing consumer (a log store closing at shutdown) must not crash the emulator from a pipe event.
    }
  };
  const stdout = new LineSplitter((line) => deliver(line, "stdout"));
  const stderr = new LineSplitter((line) => deliver(line, "stderr"));
  child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));

  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const exit = new Promise<ProcessExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ exitCode: code, signal }));
  });
  const report = await readReport(child);

  if (report.spawnError || !report.text.startsWith("ok\n")) {
    if (!report.spawnError) {
      await exit;
      await within(closed, PIPE_DRAIN_MS);
      stdout.end();
      stderr.end();
    }
    const [reason = "EXITED", detail = ""] = report.text.split("\n")[0]?.split("\t") ?? [];
    return {
      started: false,
      reason: report.spawnError ? "SPAWN" : reason,
      detail,
      output: early,
      ...(report.spawnError ? { spawnError: report.spawnError } : {}),
    };
  }

  started = true;
  for (const line of early) onOutput(line, "stdout");
  const pid = child.pid as number;
  const exited = exit.then(async (result) => {
    // Like a container whose main process ended: whatever it left running in its group is killed.
    signalGroup(pid, "SIGKILL");
    await within(closed, PIPE_DRAIN_MS);
    // A dying process closes its pipes a moment before it is really gone: wait for the group to empty.
    await groupGone(pid, PIPE_DRAIN_MS);
    // A process that escaped the group (setsid) may still hold the pipes; do not wait on it forever.
    child.stdout?.destroy();
    child.stderr?.destroy();
    stdout.end();
    stderr.end();
    return result;
  });
  const jobProcess = new HostJobProcess(pid, exited);
  live.add(jobProcess);
  void exited.finally(() => live.delete(jobProcess));
  return { started: true, process: jobProcess };
}

class HostJobProcess implements JobProcess {
  #terminated = false;
  #killTimer: NodeJS.Timeout | undefined;
  #killAt = Number.POSITIVE_INFINITY;
  #done = false;

  constructor(
    readonly pid: number,
    readonly exited: Promise<ProcessExit>,
  ) {
    void exited.finally(() => {
      this.#done = true;
      clearTimeout(this.#killTimer);
    });
  }

  /**
   * SIGTERM to the whole process group, then SIGKILL once `graceMs` has passed. Calling it again is safe;
   * a shorter grace brings the SIGKILL forward (an emulator shutting down while a job is being stopped).
   */
  stop(graceMs: number): Promise<ProcessExit> {
    if (this.#done) return this.exited;
    if (!this.#terminated) {
      this.#terminated = true;
      signalGroup(this.pid, "SIGTERM");
    }
    const killAt = Date.now() + Math.max(0, graceMs);
    if (killAt < this.#killAt) {
      this.#killAt = killAt;
      clearTimeout(this.#killTimer);
      this.#killTimer = setTimeout(() => signalGroup(this.pid, "SIGKILL"), Math.max(0, graceMs));
    }
    return this.exited;
  }

  /** Last resort when the emulator itself exits: no waiting is possible any more. */
  killNow(): void {
    signalGroup(this.pid, "SIGKILL");
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we want.
  }
}

/**
 * Resolves once no live process (zombies aside, whose reaping is not ours to wait for) is left in process
 * group `pgid`, or after `timeoutMs`.
 */
async function groupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return; // ESRCH: nothing left, not even a zombie
    }
    if (!(await groupHasLiveMember(pgid))) return;
    await delay(10);
  }
}

async function groupHasLiveMember(pgid: number): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return false; // no /proc to look in: the signal already went out, trust it
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name: state, ppid, pgrp, ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z" && state !== "X") return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: send SIGKILL to every group so no job outlives the emulator.
  process.once("exit", () => {
    for (const p of live) p.killNow();
  });
}

function readReport(child: ChildProcess): Promise<{ text: string; spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    let text = "";
    const channel = child.stdio[3] as Readable | null;
    const finish = () => resolve({ text });
    child.once("error", (error: NodeJS.ErrnoException) => resolve({ text, spawnError: error }));
    if (!channel) return finish();
    channel.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (text.includes("\n")) finish();
    });
    channel.once("end", finish);
    channel.once("close", finish);
    channel.once("error", finish);
  });
}

/**
 * Waits (with a live timer: these waits must keep the emulator's event loop running, or a caller awaiting
 * `exited` would be dropped with it) for `ms` milliseconds.
 */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise`, but no longer than `ms`; the timer is cleared either way. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
