#!/usr/bin/env node
/**
 * Command-line cold start: the median wall time of `node packages/cli/dist/src/bin.js --version`, each a
 * fresh process. Prints one JSON line; target 150 ms or less. Needs `npm run build` first.
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../dist/src/bin.js", import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const TARGET = 150;

function run(args) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
  const ms = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`ai-training ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return ms;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

run(["--version"]);
const version = Array.from({ length: RUNS }, () => run(["--version"]));
const help = Array.from({ length: Math.max(5, Math.floor(RUNS / 3)) }, () =>
  run(["job", "submit", "--help"]),
);
const nodeAlone = Array.from({ length: Math.max(5, Math.floor(RUNS / 3)) }, () => {
  const started = performance.now();
  spawnSync(process.execPath, ["-e", ""]);
  return performance.now() - started;
});
const value = median(version);
console.log(
  JSON.stringify({
    name: "cli cold start (ai-training --version) median",
    value: Number(value.toFixed(1)),
    unit: "ms",
    target: TARGET,
    ok: value <= TARGET,
    runs: RUNS,
    min_ms: Number(Math.min(...version).toFixed(1)),
    job_submit_help_median_ms: Number(median(help).toFixed(1)),
    bare_node_median_ms: Number(median(nodeAlone).toFixed(1)),
  }),
);
