/**
 * `node guard.mjs COMMAND [ARGS...]`: runs COMMAND and ends its whole process group once the guard's stdin
 * closes, which happens when the script that started it died, even by SIGKILL, which leaves that script no
 * chance to clean up. proc.mjs starts every long command through it, so nothing a script runs (an
 * `airflow dags test` polling a stopped emulator) outlives the script. Exits with the command's exit code,
 * 128 + the signal's number when a signal ended it, 127 when it could not start.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";

const [command, ...args] = process.argv.slice(2);
let orphaned = false;

function signalGroup(signal) {
  try {
    process.kill(-process.pid, signal);
  } catch {
    // The group is gone already.
  }
}

// A signal sent to the group reaches the command itself; the guard stays until the command has ended.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => {});

const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
child.on("error", (error) => {
  console.error(`${command}: ${error.message}`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  // Orphaned: whatever the command left in the group goes with it (the guard too).
  if (orphaned) signalGroup("SIGKILL");
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});

process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  orphaned = true;
  signalGroup("SIGTERM");
  setTimeout(() => signalGroup("SIGKILL"), 5000).unref();
});
process.stdin.resume();
