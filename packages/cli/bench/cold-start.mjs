#!/usr/bin/env node
/**
 * Command-line cold start: the median wall time of `node packages/cli/dist/src/bin.js --version`, each a
 * fresh process. Prints one JSON line; target 150 ms or less. Needs `npm run build` first.
 *
 * Each run is paired with a run of bare `node -e ""`, so the line also shows what Node itself costs on
 * this machine at that moment (the floor no command line can go under) and the median extra of ours.
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../dist/src/bin.js", import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const TARGET = 150;

function timed(args, check = true) {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { encoding: "utf8" });
  const ms = performance.now() - started;
  if (check && result.status !== 0)
    throw new Error(`node ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return ms;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (ms) => Number(ms.toFixed(1));
timed([BIN, "--version"]);
const version = [];
const bare = [];
for (let i = 0; i < RUNS; i += 1) {
  bare.push(timed(["-e", ""], false));
  version.push(timed([BIN, "--version"]));
}
const help = Array.from({ length: Math.max(5, Math.floor(RUNS / 3)) }, () =>
  timed([BIN, "job", "submit", "--help"]),
);
const value = median(version);
console.log(
  JSON.stringify({
    name: "cli cold start (ai-training --version) median",
    value: round(value),
    unit: "ms",
    target: TARGET,
    ok: value <= TARGET,
    runs: RUNS,
    min_ms: round(Math.min(...version)),
    bare_node_median_ms: round(median(bare)),
    extra_over_bare_node_median_ms: round(median(version.map((ms, i) => ms - (bare[i] ?? 0)))),
    job_submit_help_median_ms: round(median(help)),
  }),
);
