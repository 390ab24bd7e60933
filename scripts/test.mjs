#!/usr/bin/env node
/**
 * `npm test`: every check of the project, in one run, ending with one line `N passed, N failed, N skipped`.
 *
 * 1. install what is missing (npm ci, the repo's .venv with Airflow and the provider), quick when present;
 * 2. build (tsc -b);
 * 3. lint and type checks: biome, ruff format, ruff check, mypy;
 * 4. the TypeScript tests of every package (node --test packages/<p>/dist/test/);
 * 5. the provider's pytest suite;
 * 6. the document's examples: each code block is in an example file, the connection block runs, and each
 *    DAG under examples/dags runs with `airflow dags test` against its own emulator and ends as its header says.
 *
 * Options (after `npm test --`): --only=install,build,lint,node,python,examples (comma list),
 * --dag=SUBSTRING (run only the matching example DAGs), --jobs=N (example DAGs run at once; default 2).
 * Each example's full Airflow log is kept in .airflow/logs/.
 *
 * The check that every code block of the user's document is an example reads the document from
 * `AI_TRAINING_SEED`, else ../shared/seed/ai-training.md beside the clone; it is skipped (not failed) when
 * neither exists, since the document is not part of the repo.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { installCleanup, run, tail } from "./lib/proc.mjs";
import {
  buildWorkspace,
  ensureAirflowDb,
  ensureNodeModules,
  ensureVenv,
  PYTHON,
  ROOT,
  StepError,
  VENV_BIN,
} from "./lib/setup.mjs";

const options = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=");
    return [key, value ?? "true"];
  }),
);
const only = options.only ? new Set(options.only.split(",")) : null;
const wants = (part) => only === null || only.has(part);
const jobs = Math.max(1, Number(options.jobs ?? process.env.AI_TRAINING_TEST_JOBS ?? 2));

/** @type {{ name: string, passed: number, failed: number, skipped?: number, detail?: string }[]} */
const results = [];
const startedAt = Date.now();
let stepNumber = 0;
const STEPS = ["install", "build", "lint", "node", "python", "examples"].filter(wants).length;

function step(title) {
  stepNumber += 1;
  console.log(`\n[${stepNumber}/${STEPS}] ${title}`);
}

function say(line) {
  console.log(`  ${line}`);
}

/** Records a check that counts once: passed or failed. */
function check(name, ok, detail = "", ms = undefined) {
  results.push({ name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, detail });
  const time = ms === undefined ? "" : ` (${(ms / 1000).toFixed(1)} s)`;
  say(`${ok ? "ok  " : "FAIL"} ${name}${time}`);
  if (!ok && detail) console.log(indent(detail, 6));
}

/** Records a check that could not run here and proves nothing either way: counted as skipped. */
function skip(name, detail) {
  results.push({ name, passed: 0, failed: 0, skipped: 1, detail });
  say(`skip ${name}: ${detail}`);
}

/** Records a suite whose tests count one by one. */
function suite(name, passed, failed, detail = "", ms = undefined) {
  results.push({ name, passed, failed, detail });
  const time = ms === undefined ? "" : ` (${(ms / 1000).toFixed(1)} s)`;
  say(`${failed === 0 ? "ok  " : "FAIL"} ${name}: ${passed} passed, ${failed} failed${time}`);
  if (failed > 0 && detail) console.log(indent(detail, 6));
}

function indent(text, n) {
  const pad = " ".repeat(n);
  return text
    .split("\n")
    .map((line) => pad + line)
    .join("\n");
}

function finish() {
  const passed = results.reduce((sum, r) => sum + r.passed, 0);
  const failed = results.reduce((sum, r) => sum + r.failed, 0);
  const skipped = results.reduce((sum, r) => sum + (r.skipped ?? 0), 0);
  const failures = results.filter((r) => r.failed > 0);
  console.log(`\n${"-".repeat(72)}`);
  if (failures.length > 0) {
    console.log("Failed:");
    for (const r of failures) console.log(`  - ${r.name}${r.failed > 1 ? ` (${r.failed})` : ""}`);
  }
  console.log(`took ${Math.round((Date.now() - startedAt) / 1000)} s`);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed > 0 ? 1 : 0;
}

installCleanup((signal) =>
  console.log(`\ninterrupted (${signal}) during step ${stepNumber}; stopping what it started`),
);

async function install() {
  step("install what is missing");
  const npm = await ensureNodeModules(say);
  if (!npm) say("node_modules is up to date");
  const venv = await ensureVenv(say);
  if (!venv) say(".venv is up to date (Airflow and the provider installed)");
}

async function build() {
  step("build (tsc -b)");
  const t = Date.now();
  try {
    await buildWorkspace();
    check("TypeScript build (npm run build)", true, "", Date.now() - t);
    return true;
  } catch (error) {
    check(
      "TypeScript build (npm run build)",
      false,
      `${error.message}\n${error.detail ?? ""}`,
      Date.now() - t,
    );
    return false;
  }
}

async function lintCheck(name, command, args, cwd = ROOT) {
  const result = await run(command, args, { cwd, timeoutMs: 10 * 60_000 });
  const ok = result.code === 0 && !result.error;
  check(
    name,
    ok,
    ok ? "" : tail(`${result.stdout}\n${result.stderr}\n${result.error?.message ?? ""}`, 40),
    result.ms,
  );
}

async function lint() {
  step("lint and type checks");
  await lintCheck("biome check", join(ROOT, "node_modules", ".bin", "biome"), ["check", "."]);
  const pythonTargets = [
    "examples",
    ...(existsSync(join(ROOT, "provider", "pyproject.toml")) ? ["provider"] : []),
  ];
  await lintCheck(`ruff format --check ${pythonTargets.join(" ")}`, join(VENV_BIN, "ruff"), [
    "format",
    "--check",
    ...pythonTargets,
  ]);
  await lintCheck(`ruff check ${pythonTargets.join(" ")}`, join(VENV_BIN, "ruff"), [
    "check",
    ...pythonTargets,
  ]);
  if (existsSync(join(ROOT, "provider", "src"))) {
    // provider/pyproject.toml says what mypy checks ([tool.mypy] files), so it runs from there.
    await lintCheck("mypy (provider)", join(VENV_BIN, "mypy"), [], join(ROOT, "provider"));
  } else {
    say("skip mypy: provider/src does not exist yet");
  }
}

/** Counts from the summary that `node --test --test-reporter=tap` prints last. */
function tapCounts(output) {
  const count = (key) => Number(new RegExp(`^# ${key} (\\d+)$`, "m").exec(output)?.[1] ?? 0);
  return { pass: count("pass"), fail: count("fail") + count("cancelled"), tests: count("tests") };
}

/** The failing tests of a TAP stream, each with the lines that say why. */
function tapFailures(output) {
  const lines = output.split("\n");
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*not ok \d+/.test(lines[i])) continue;
    const block = [lines[i].trim()];
    for (let j = i + 1; j < lines.length && j < i + 30 && !/^\s*(not )?ok \d+/.test(lines[j]); j++) {
      if (/error:|expected|actual|message|code:|at .*test/.test(lines[j])) block.push(lines[j].trim());
    }
    out.push(block.slice(0, 12).join("\n  "));
  }
  return out.slice(0, 10).join("\n");
}

async function nodeTests(built) {
  step("TypeScript tests (node --test)");
  const packages = readdirSync(join(ROOT, "packages")).sort();
  // The root scripts' own tests (plain .mjs, nothing to compile) run like a package's.
  const suites = [
    ...packages.map((name) => ({
      name: `packages/${name}`,
      srcDir: join(ROOT, "packages", name, "test"),
      dir: join(ROOT, "packages", name, "dist", "test"),
    })),
    { name: "scripts", srcDir: join(ROOT, "scripts", "test"), dir: join(ROOT, "scripts", "test") },
  ];
  for (const { name: suiteName, srcDir, dir } of suites) {
    const name = suiteName.replace(/^packages\//, "");
    if (!existsSync(srcDir)) {
      say(`skip ${name}: no ${suiteName}/test yet`);
      continue;
    }
    if (!built || !existsSync(dir)) {
      check(`node --test ${suiteName}`, false, "not built: see the build step");
      continue;
    }
    say(`...  node --test ${relative(ROOT, dir)}/`);
    const result = await run(process.execPath, ["--test", "--test-reporter=tap", dir], {
      cwd: ROOT,
      timeoutMs: 15 * 60_000,
    });
    const counts = tapCounts(result.stdout);
    let failed = counts.fail;
    let detail = tapFailures(result.stdout);
    if (result.error || (result.code !== 0 && failed === 0) || counts.tests === 0) {
      // A crash outside any test (or no test at all) still fails the package.
      failed += 1;
      detail = `${result.error?.message ?? `exit ${result.code}`}, ${counts.tests} tests\n${tail(result.stderr || result.stdout, 20)}`;
    }
    suite(`node --test ${suiteName}`, counts.pass, failed, detail, result.ms);
  }
}

/** Counts from a JUnit XML report. */
function junitCounts(xml) {
  const suiteTag = /<testsuite\b[^>]*>/.exec(xml)?.[0] ?? "";
  const attr = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suiteTag)?.[1] ?? 0);
  const tests = attr("tests");
  const failed = attr("failures") + attr("errors");
  return { tests, failed, skipped: attr("skipped"), passed: tests - failed - attr("skipped") };
}

async function pythonTests() {
  step("provider tests (pytest)");
  const tests = join(ROOT, "provider", "tests");
  if (!existsSync(tests)) {
    say("skip: provider/tests does not exist yet");
    return;
  }
  const report = join(tmpdir(), `ai-training-pytest-${process.pid}.xml`);
  say("...  pytest provider/tests (each test talks to a real emulator; a minute or two)");
  const result = await run(
    PYTHON,
    ["-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", `--junitxml=${report}`],
    {
      cwd: join(ROOT, "provider"),
      timeoutMs: 30 * 60_000,
      onLine: (line) => {
        // pytest -q prints a row of dots as it goes; failures are shown at the end, below.
        if (/^(FAILED|ERROR) /.test(line)) say(`  ${line}`);
      },
    },
  );
  if (result.code === 5) {
    // pytest's "no tests collected": not a crash, but nothing was proved either.
    say("pytest collected no tests in provider/tests");
    rmSync(report, { force: true });
    return;
  }
  const counts = existsSync(report) ? junitCounts(readFileSync(report, "utf8")) : { passed: 0, failed: 0 };
  rmSync(report, { force: true });
  let failed = counts.failed;
  if (result.code !== 0 && failed === 0) failed = 1;
  const detail = tail(result.stdout, 40);
  suite("pytest provider/tests", counts.passed, failed, detail, result.ms);
}

async function examples(built) {
  step("the document's examples end to end");
  if (!built) {
    check("examples", false, "not run: the build failed, so there is no emulator to run them against");
    return;
  }
  const { checkSeedBlocks, listExamples, runConnectionExample, runExample } = await import(
    "./lib/examples.mjs"
  );
  for (const r of checkSeedBlocks()) {
    if (r.skipped) skip(r.name, r.detail);
    else check(`${r.name} (${r.detail.split("\n")[0]})`, r.ok, r.detail);
  }

  const migratedDb = await ensureAirflowDb(say);
  const t = Date.now();
  const connection = await runConnectionExample({ migratedDb });
  check(
    "connection block: airflow connections add stores region and token",
    connection.ok,
    connection.problems.join("\n"),
    Date.now() - t,
  );

  const logDir = join(ROOT, ".airflow", "logs");
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  const chosen = listExamples().filter((e) => !options.dag || e.name.includes(options.dag));
  say(
    `running ${chosen.length} example DAGs, ${jobs} at a time, each against its own emulator (logs in .airflow/logs/)`,
  );
  const queue = [...chosen];
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let example = queue.shift(); example; example = queue.shift()) {
        const outcome = await runExample(example, { migratedDb, logDir });
        const wanted = [
          `dag_run=${example.dagRun}`,
          example.jobs ? `jobs=${example.jobs.join(",") || "none"}` : "",
        ];
        check(
          `example ${example.name} (${wanted.filter(Boolean).join(" ")})`,
          outcome.ok,
          outcome.problems.join("\n"),
          outcome.ms,
        );
      }
    }),
  );
}

async function main() {
  console.log(`npm test: ${only ? [...only].join(", ") : "everything"}`);
  try {
    if (wants("install")) await install();
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    check(`install (${error.step})`, false, `${error.message}\n${error.detail}`);
    return finish();
  }
  const built = wants("build") ? await build() : existsSync(join(ROOT, "packages", "emulator", "dist"));
  if (wants("lint")) await lint();
  if (wants("node")) await nodeTests(built);
  if (wants("python")) await pythonTests();
  if (wants("examples")) {
    try {
      await examples(built);
    } catch (error) {
      check(`examples (${error.step ?? "setup"})`, false, `${error.message}\n${error.detail ?? ""}`);
    }
  }
  finish();
}

main().catch((error) => {
  console.error(`npm test stopped on an unexpected error: ${error.stack ?? error}`);
  results.push({ name: "test runner", passed: 0, failed: 1 });
  finish();
});
