#!/usr/bin/env node
/**
 * `npm run bench`: builds, then runs every benchmark script of the project, one after the other so they do
 * not disturb each other: `packages/<p>/bench/*.mjs` with node and `provider/bench/*.py` with the repo's
 * .venv (files starting with `_` are helpers and are skipped). Each prints one JSON object per line:
 *   {"name": ..., "value": ..., "unit": ..., "target": ..., "ok": true|false, ...}
 * The results come back as one table. A missed target is reported, never a failure; a script that crashes
 * (non-zero exit, or no result line) makes the run exit 1.
 *
 * Options (after `npm run bench --`): --only=SUBSTRING runs only the scripts whose path contains it.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { installCleanup, run, tail } from "./lib/proc.mjs";
import { buildWorkspace, ensureNodeModules, ensureVenv, PYTHON, ROOT, StepError } from "./lib/setup.mjs";

const filter = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length);

installCleanup((signal) => console.error(`\nbench interrupted (${signal}); stopping what it started`));

function benchScripts() {
  const scripts = [];
  const packages = join(ROOT, "packages");
  for (const name of readdirSync(packages).sort()) {
    const dir = join(packages, name, "bench");
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      // A leading underscore marks a helper module shared by the scripts, not a benchmark.
      if (file.endsWith(".mjs") && !file.startsWith("_"))
        scripts.push({ path: join(dir, file), command: process.execPath });
    }
  }
  const providerBench = join(ROOT, "provider", "bench");
  if (existsSync(providerBench)) {
    for (const file of readdirSync(providerBench).sort()) {
      if (file.endsWith(".py") && !file.startsWith("_"))
        scripts.push({ path: join(providerBench, file), command: PYTHON });
    }
  }
  return scripts.filter((s) => !filter || s.path.includes(filter));
}

function formatValue(value) {
  if (typeof value !== "number") return String(value ?? "-");
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100
    ? value.toFixed(0)
    : Math.abs(value) >= 1
      ? value.toFixed(2)
      : value.toPrecision(3);
}

function table(rows) {
  const header = ["name", "value", "unit", "target", "ok", "script"];
  const cells = rows.map((r) => [
    r.name,
    formatValue(r.value),
    r.unit ?? "",
    r.target === undefined ? "-" : typeof r.target === "string" ? r.target : formatValue(r.target),
    r.ok === true ? "yes" : r.ok === false ? "MISSED" : "-",
    r.script,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
  const line = (c) =>
    c
      .map((v, i) => (i === 1 ? String(v).padStart(widths[i]) : String(v).padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

async function main() {
  console.log("npm run bench: install what is missing and build");
  try {
    await ensureNodeModules((line) => console.log(`  ${line}`));
    await ensureVenv((line) => console.log(`  ${line}`));
    await buildWorkspace();
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    console.error(`bench stopped at ${error.step}: ${error.message}\n${error.detail}`);
    process.exit(1);
  }
  const scripts = benchScripts();
  if (scripts.length === 0) {
    console.log("no benchmark scripts found (packages/*/bench/*.mjs, provider/bench/*.py)");
    return;
  }
  const rows = [];
  const crashed = [];
  for (const [index, script] of scripts.entries()) {
    const name = relative(ROOT, script.path);
    console.log(`[${index + 1}/${scripts.length}] ${name}`);
    const before = rows.length;
    const result = await run(script.command, [script.path], {
      cwd: ROOT,
      timeoutMs: 20 * 60_000,
      heartbeat: (line) => console.log(`  ${line}`),
      onLine: (line, stream) => {
        const text = line.trim();
        if (stream === "stdout" && text.startsWith("{")) {
          try {
            const row = JSON.parse(text);
            if (row && typeof row.name === "string") {
              rows.push({ ...row, script: name });
              console.log(
                `  ${row.name}: ${formatValue(row.value)} ${row.unit ?? ""} (target ${row.target ?? "-"})`,
              );
              return;
            }
          } catch {
            // Not a result line: the script's own logging, shown only if the script crashes.
          }
        }
      },
    });
    if (result.code !== 0 || result.error || rows.length === before) {
      const why = result.error?.message ?? (result.code !== 0 ? `exit ${result.code}` : "no result line");
      crashed.push(`${name}: ${why}\n${tail(result.stderr || result.stdout, 15)}`);
      console.log(`  CRASHED: ${why}`);
    } else {
      console.log(`  done in ${(result.ms / 1000).toFixed(1)} s`);
    }
  }
  console.log(`\n${table(rows)}`);
  const missed = rows.filter((r) => r.ok === false).length;
  console.log(
    `\n${rows.length} results from ${scripts.length} scripts; ${missed} missed their target` +
      (crashed.length ? `; ${crashed.length} scripts crashed` : ""),
  );
  if (crashed.length > 0) {
    for (const c of crashed) console.error(`crashed: ${c}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(`bench stopped on an unexpected error: ${error.stack ?? error}`);
  process.exit(1);
});
