/**
 * Shared by the emulator's bench scripts (files starting with `_` are not benchmarks). Each benchmark
 * prints one JSON object per line: {"name", "value", "unit", "target", "ok", ...}.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export { startEmulatorProcess } from "../dist/src/testing.js";

/** Prints one result line; `lowerIsBetter` decides how `ok` compares value and target. */
export function report(name, value, unit, target, lowerIsBetter, extra = {}) {
  const ok = lowerIsBetter ? value <= target : value >= target;
  process.stdout.write(`${JSON.stringify({ name, value, unit, target, ok, ...extra })}\n`);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Resident memory of a process in MB, from /proc. */
export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** A tiny API helper with the operator token. */
export function api(emulator) {
  const headers = { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" };
  return async (method, path, body) => {
    const response = await fetch(`${emulator.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 400) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return text === "" ? undefined : JSON.parse(text);
  };
}

/** Runs autocannon in a second process and resolves with its JSON result. */
export function autocannon(args) {
  const require = createRequire(import.meta.url);
  const bin = require.resolve("autocannon/autocannon.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "--json", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c) => {
      out += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c) => {
      err += c;
    });
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out));
      } catch (error) {
        reject(new Error(`autocannon printed no JSON (${error.message}): ${out} ${err}`));
      }
    });
  });
}
