/**
 * The document's examples end to end: each DAG file under examples/dags runs with `airflow dags test`
 * against its own fresh emulator process and its own copy of a migrated Airflow database, and must end
 * in the state its `# expect:` header states.
 *
 * Header lines a DAG file may carry:
 *   # expect: dag_run=success|failed TASK_ID=STATE... jobs=STATE,STATE|none
 *   # expect-output: ALIAS/CONTAINER/PATH...   files the run must leave in the emulator's Object Storage
 *   # expect-label: KEY=VALUE                  a label every remaining job must carry
 *   # expect-metric: ALIAS/CONTAINER/FILE.json KEY>=NUMBER   a number in a JSON file the run left there
 *   # replaces: LINE                            a line of the document's block this file had to change
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { AITrainingClient, isFinalState } from "@ai-training/client";
import { DATASET, putObjects, runDagTest, startEmulator } from "./emulator.mjs";
import { removeOnExit, run, tail } from "./proc.mjs";
import { airflowEnv, isolatedDagFile, PYTHON, prepareAirflowHome, ROOT } from "./setup.mjs";

export const DAGS_DIR = join(ROOT, "examples", "dags");
/** Where the user's document sits next to a CI clone; `AI_TRAINING_SEED` names it anywhere else. */
export const DEFAULT_SEED_DOCUMENT = join(ROOT, "..", "shared", "seed", "ai-training.md");

/**
 * The user's document: `AI_TRAINING_SEED` when set, else DEFAULT_SEED_DOCUMENT. It is not part of the
 * repo, so a clone made elsewhere may not have it.
 * @returns {{ path: string | null, looked: string[] }} `path` is null when no candidate exists
 */
export function findSeedDocument(env = process.env, fallback = DEFAULT_SEED_DOCUMENT) {
  const looked = [env.AI_TRAINING_SEED, fallback].filter(Boolean);
  return { path: looked.find((file) => existsSync(file)) ?? null, looked };
}

/**
 * The containers the examples read from, filled with the Wine data before each run, as a user would
 * have uploaded it: [alias, container, prefix].
 */
export const EXAMPLE_DATA = [
  ["data-alias", "training-data", ""],
  ["my-data-alias", "my-training-data", ""],
  ["my-data-alias", "my-bucket", "datasets/v1"],
];

/**
 * @typedef {{ file: string, name: string, dagId: string, dagRun: string, tasks: Record<string, string>,
 *   jobs: string[] | null, outputs: string[], labels: Record<string, string>, replaces: string[],
 *   metrics: { file: string, key: string, min: number }[] }} Example
 */

/** Reads one DAG file's dag_id and expectations. */
export function readExample(file) {
  const text = readFileSync(file, "utf8");
  const dagId = /dag_id\s*=\s*['"]([^'"]+)['"]/.exec(text)?.[1];
  /** @type {Example} */
  const example = {
    file,
    name: basename(file, ".py"),
    dagId: dagId ?? "",
    dagRun: "",
    tasks: {},
    jobs: null,
    outputs: [],
    labels: {},
    replaces: [],
    metrics: [],
  };
  for (const line of text.split("\n")) {
    const header = /^#\s*(expect|expect-output|expect-label|expect-metric|replaces):\s*(.*)$/.exec(line);
    if (!header) continue;
    const [, kind, rest] = header;
    const metric = /^(\S+)\s+(\w+)>=([\d.]+)$/.exec(rest.trim());
    if (kind === "replaces") example.replaces.push(rest.trim());
    else if (kind === "expect-metric" && metric) {
      example.metrics.push({ file: metric[1], key: metric[2], min: Number(metric[3]) });
    } else if (kind === "expect-metric") throw new Error(`${file}: cannot read "${line}"`);
    else if (kind === "expect-output") example.outputs.push(...rest.trim().split(/\s+/));
    else {
      for (const pair of rest.trim().split(/\s+/)) {
        const [key, value] = pair.split("=");
        if (kind === "expect-label") example.labels[key] = value;
        else if (key === "dag_run") example.dagRun = value;
        else if (key === "jobs") example.jobs = value === "none" ? [] : value.split(",").sort();
        else example.tasks[key] = value;
      }
    }
  }
  return example;
}

/** Every DAG file of examples/dags, in file-name order. */
export function listExamples() {
  return readdirSync(DAGS_DIR)
    .filter((name) => name.endsWith(".py"))
    .sort()
    .map((name) => readExample(join(DAGS_DIR, name)));
}

/** The code blocks of the seed document with the heading they sit under. */
export function seedBlocks(markdown) {
  const blocks = [];
  let heading = "";
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const title = /^#{1,4}\s+(.*)$/.exec(line);
    if (title) heading = title[1].trim();
    const fence = /^```(\w+)\s*$/.exec(line);
    if (!fence) continue;
    const body = [];
    for (i += 1; i < lines.length && !lines[i].startsWith("```"); i++) body.push(lines[i]);
    blocks.push({ heading, language: fence[1], code: body.join("\n") });
  }
  return blocks;
}

/** Lines without indentation and without blank lines: a block kept verbatim inside a `with DAG` still matches. */
function normalise(code) {
  return code
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

function containsRun(haystack, needle) {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function containsInOrder(haystack, needle) {
  let at = 0;
  for (const line of haystack) if (at < needle.length && line === needle[at]) at += 1;
  return at === needle.length;
}

/**
 * Checks that every code block of the seed document is in an example file: verbatim (ignoring
 * indentation and blank lines), or, for a block a file had to change, with every other line in order and
 * the changed lines named by `# replaces:` in that file. When the document is nowhere to be found, answers
 * one skipped check saying where it looked; when it exists, every block must match.
 * @param {Record<string, string | undefined>} env where `AI_TRAINING_SEED` is read
 * @param {string} fallback where the document is looked for when `AI_TRAINING_SEED` is not set or missing
 * @returns {{ name: string, ok: boolean, skipped?: boolean, detail: string }[]}
 */
export function checkSeedBlocks(env = process.env, fallback = DEFAULT_SEED_DOCUMENT) {
  const { path: seedDocument, looked } = findSeedDocument(env, fallback);
  if (seedDocument === null) {
    return [
      {
        name: "seed document blocks are examples",
        ok: true,
        skipped: true,
        detail: `the user's document is not at ${looked.join(" nor at ")}; set AI_TRAINING_SEED=/path/to/ai-training.md to check its code blocks`,
      },
    ];
  }
  const files = [
    ...readdirSync(DAGS_DIR)
      .filter((n) => n.endsWith(".py"))
      .map((n) => join(DAGS_DIR, n)),
    join(ROOT, "examples", "connection", "add_connection.sh"),
  ].map((file) => {
    const text = readFileSync(file, "utf8");
    return { file, lines: normalise(text), replaces: readExample(file).replaces };
  });
  return seedBlocks(readFileSync(seedDocument, "utf8")).map(({ heading, code }) => {
    const block = normalise(code);
    const name = `seed block "${heading}" is an example`;
    const verbatim = files.find((f) => containsRun(f.lines, block));
    if (verbatim) return { name, ok: true, detail: `verbatim in ${basename(verbatim.file)}` };
    const adapted = files.find(
      (f) =>
        f.replaces.length > 0 &&
        block.some((line) => f.replaces.includes(line)) &&
        containsInOrder(
          f.lines,
          block.filter((line) => !f.replaces.includes(line)),
        ),
    );
    if (adapted) {
      return {
        name,
        ok: true,
        detail: `in ${basename(adapted.file)}, changing only: ${adapted.replaces.join(" | ")}`,
      };
    }
    return { name, ok: false, detail: `no file under examples/ holds this block:\n${code}` };
  });
}

async function taskStates(airflowHome, dagId) {
  const script = [
    "import json, sqlite3, sys",
    "db = sqlite3.connect(sys.argv[1])",
    "rows = db.execute('SELECT task_id, state FROM task_instance WHERE dag_id = ?', (sys.argv[2],)).fetchall()",
    "run = db.execute('SELECT state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1', (sys.argv[2],)).fetchone()",
    "print(json.dumps({'tasks': dict(rows), 'dag_run': run[0] if run else None}))",
  ].join("\n");
  const result = await run(PYTHON, ["-c", script, join(airflowHome, "airflow.db"), dagId]);
  if (result.code !== 0) throw new Error(`reading the task states failed: ${tail(result.stderr, 5)}`);
  return JSON.parse(result.stdout);
}

/** Waits until every job on the emulator is final (jobs a DAG only submitted may still run); returns them. */
async function settledJobs(emulator, timeoutMs = 60_000) {
  const client = new AITrainingClient({ token: emulator.token, endpoint: emulator.url });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { items } = await client.listJobs({ size: 100 });
    if (items.every((job) => isFinalState(job.status?.state ?? "")) || Date.now() > deadline) return items;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Runs one example DAG against a fresh emulator and compares the outcome with its header.
 * @param {Example} example
 * @param {{ migratedDb: string, logDir: string, timeoutMs?: number }} options
 * @returns {Promise<{ ok: boolean, problems: string[], ms: number, logFile: string }>}
 */
export async function runExample(example, { migratedDb, logDir, timeoutMs = 10 * 60_000 }) {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), `ai-training-example-${example.name}-`));
  const removeWork = removeOnExit(work);
  const logFile = join(logDir, `${example.name}.log`);
  const problems = [];
  let emulator;
  try {
    if (!example.dagId) return { ok: false, problems: ["no dag_id found in the file"], ms: 0, logFile };
    if (!example.dagRun)
      return { ok: false, problems: ["no `# expect: dag_run=...` header"], ms: 0, logFile };
    // The emulator's own temporary data folder goes with it even if this script is killed.
    emulator = await startEmulator();
    for (const [alias, container, prefix] of EXAMPLE_DATA)
      putObjects(emulator.dataDir, alias, container, [DATASET], prefix);
    const home = prepareAirflowHome(join(work, "airflow"), migratedDb);
    const dagFile = isolatedDagFile(join(work, "dags"), example.file);
    const result = await runDagTest(emulator, {
      home,
      dagId: example.dagId,
      dagFile,
      logFile,
      timeoutMs,
    });
    if (result.error) problems.push(`airflow dags test: ${result.error.message}`);
    const states = await taskStates(home, example.dagId);
    if (states.dag_run !== example.dagRun) {
      problems.push(`DAG run ended ${states.dag_run ?? "without a run"}, expected ${example.dagRun}`);
    }
    const exitWanted = example.dagRun === "success" ? 0 : 1;
    if (result.code !== exitWanted)
      problems.push(`airflow dags test exited ${result.code}, expected ${exitWanted}`);
    for (const [task, state] of Object.entries(example.tasks)) {
      if (states.tasks[task] !== state)
        problems.push(`task ${task} ended ${states.tasks[task] ?? "missing"}, expected ${state}`);
    }
    if (example.jobs !== null) {
      const jobs = await settledJobs(emulator);
      const got = jobs.map((job) => job.status?.state ?? "?").sort();
      if (got.join(",") !== example.jobs.join(",")) {
        const shown = got.length === 0 ? "none" : got.join(",");
        problems.push(
          `jobs left on the emulator: ${shown}, expected ${example.jobs.length ? example.jobs.join(",") : "none"}`,
        );
      }
      for (const [key, value] of Object.entries(example.labels)) {
        for (const job of jobs) {
          if (job.spec?.labels?.[key] !== value) {
            problems.push(`job ${job.id} has label ${key}=${job.spec?.labels?.[key]}, expected ${value}`);
          }
        }
      }
    }
    for (const output of example.outputs) {
      if (!existsSync(join(emulator.dataDir, "object-storage", output))) {
        problems.push(`the run left no ${output} in the emulator's Object Storage`);
      }
    }
    for (const { file, key, min } of example.metrics) {
      const path = join(emulator.dataDir, "object-storage", file);
      const value = existsSync(path) ? JSON.parse(readFileSync(path, "utf8"))[key] : undefined;
      if (!(typeof value === "number" && value >= min)) {
        problems.push(`${file}: ${key} is ${value ?? "missing"}, expected at least ${min}`);
      }
    }
    if (problems.length > 0)
      problems.push(
        `last lines of the run (full log: ${logFile}):\n${tail(`${result.stdout}\n${result.stderr}`, 25)}`,
      );
  } catch (error) {
    problems.push(`${error.message}${error.detail ? `\n${error.detail}` : ""}`);
  } finally {
    await emulator?.stop();
    removeWork();
  }
  return { ok: problems.length === 0, problems, ms: Date.now() - started, logFile };
}

/**
 * Runs the document's connection block (examples/connection/add_connection.sh) in a throwaway AIRFLOW_HOME
 * and checks that Airflow stored what the document says: login = region, password = token.
 */
export async function runConnectionExample({ migratedDb }) {
  const work = mkdtempSync(join(tmpdir(), "ai-training-connection-"));
  const removeWork = removeOnExit(work);
  try {
    const home = prepareAirflowHome(join(work, "airflow"), migratedDb);
    const env = airflowEnv(home);
    const script = join(ROOT, "examples", "connection", "add_connection.sh");
    const added = await run("bash", [script], { cwd: ROOT, env, timeoutMs: 120_000 });
    if (added.code !== 0)
      return { ok: false, problems: [`add_connection.sh failed:\n${tail(added.stdout + added.stderr, 15)}`] };
    const check = [
      "import json",
      "from airflow import settings",
      "from airflow.models.connection import Connection",
      "settings.configure_orm()",
      "c = settings.Session().query(Connection).filter_by(conn_id='ovh_ai_training_default').one()",
      "print(json.dumps({'conn_type': c.conn_type, 'login': c.login, 'password_set': c.password == 'your-ai-token-here'}))",
    ].join("\n");
    const read = await run(PYTHON, ["-c", check], { cwd: ROOT, env, timeoutMs: 120_000 });
    if (read.code !== 0)
      return { ok: false, problems: [`reading the connection failed:\n${tail(read.stderr, 15)}`] };
    const stored = JSON.parse(read.stdout.trim().split("\n").pop() ?? "{}");
    const problems = [];
    if (stored.conn_type !== "generic") problems.push(`conn_type is ${stored.conn_type}, expected generic`);
    if (stored.login !== "gra") problems.push(`login is ${stored.login}, expected gra`);
    if (!stored.password_set) problems.push("the password is not the token the document passes");
    return { ok: problems.length === 0, problems };
  } finally {
    removeWork();
  }
}
