/**
 * What the root scripts need before they can run anything, installed only when missing or stale:
 * the npm workspace (npm ci), its build (tsc -b), the repo's Python virtual environment with Airflow 3 and
 * the provider installed editable, and a migrated Airflow database to copy for each DAG run.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { run, tail } from "./proc.mjs";

/** The repository root. */
export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** The Airflow release the project develops and tests against (the newest Airflow 3 on PyPI). */
export const AIRFLOW_VERSION = "3.3.2";

export const VENV = join(ROOT, ".venv");
export const VENV_BIN = join(VENV, "bin");
export const PYTHON = join(VENV_BIN, "python");

/** A step that could not be done; `step` names it and `detail` holds the output that says why. */
export class StepError extends Error {
  constructor(step, message, detail = "") {
    super(message);
    this.name = "StepError";
    this.step = step;
    this.detail = detail;
  }
}

function sha256(text) {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Runs `npm ci` when node_modules is missing or older than package-lock.json. npm writes
 * node_modules/.package-lock.json after every install, so a lock file newer than it means the tree is stale.
 * @returns {Promise<boolean>} whether an install ran
 */
export async function ensureNodeModules(say) {
  const lock = join(ROOT, "package-lock.json");
  const hidden = join(ROOT, "node_modules", ".package-lock.json");
  const fresh = existsSync(hidden) && statSync(hidden).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh) return false;
  say("installing the npm workspace (npm ci; the first time builds better-sqlite3, about a minute)");
  const result = await run("npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: ROOT,
    timeoutMs: 15 * 60_000,
    heartbeat: (line) => say(`  npm ci ${line}`),
  });
  if (result.code !== 0) {
    throw new StepError(
      "npm ci",
      `npm ci failed (exit ${result.code ?? result.error?.message}); is the npm registry reachable?`,
      tail(result.stderr || result.stdout),
    );
  }
  return true;
}

/** Compiles every package (`npm run build`, which is `tsc -b`); incremental, so quick when nothing changed. */
export async function buildWorkspace() {
  const result = await run("npm", ["run", "--silent", "build"], { cwd: ROOT, timeoutMs: 10 * 60_000 });
  if (result.code !== 0) {
    throw new StepError(
      "build",
      "the TypeScript build (npm run build) failed",
      tail(`${result.stdout}\n${result.stderr}`, 40),
    );
  }
  return result;
}

/** The Python packages of the repo's venv, besides the provider itself. */
function pythonRequirements() {
  return [`apache-airflow==${AIRFLOW_VERSION}`, "httpx"];
}

function venvStamp() {
  const pyproject = join(ROOT, "provider", "pyproject.toml");
  return JSON.stringify({
    requirements: pythonRequirements(),
    provider: existsSync(pyproject) ? sha256(readFileSync(pyproject)) : null,
  });
}

async function findPython() {
  for (const candidate of ["python3.11", "python3.12", "python3.13", "python3.10", "python3"]) {
    const result = await run(candidate, ["-c", "import sys; print(sys.version_info >= (3, 10))"]);
    if (result.code === 0 && result.stdout.trim() === "True") return candidate;
  }
  throw new StepError("python venv", "no Python 3.10 or newer found (tried python3.11 ... python3)");
}

/**
 * Creates `.venv` with Airflow and the provider (editable, with its test extras) when it is missing or
 * when provider/pyproject.toml changed since the last install. A stamp file inside the venv records what
 * was installed.
 * @returns {Promise<boolean>} whether an install ran
 */
export async function ensureVenv(say) {
  const stampFile = join(VENV, ".ai-training-stamp");
  const wanted = venvStamp();
  if (existsSync(PYTHON) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === wanted) return false;
  if (!existsSync(PYTHON)) {
    const python = await findPython();
    say(`creating the Python virtual environment .venv with ${python}`);
    const made = await run(python, ["-m", "venv", VENV], { cwd: ROOT, timeoutMs: 5 * 60_000 });
    if (made.code !== 0) {
      throw new StepError("python venv", `${python} -m venv .venv failed`, tail(made.stderr || made.stdout));
    }
  }
  const provider = join(ROOT, "provider", "pyproject.toml");
  const packages = [...pythonRequirements()];
  if (existsSync(provider)) packages.push("-e", `${join(ROOT, "provider")}[test]`);
  else packages.push("pytest", "ruff", "mypy");
  say(
    `installing into .venv: ${packages.filter((p) => p !== "-e").join(" ")} ` +
      "(the first time takes a few minutes; progress below)",
  );
  let shown = 0;
  const result = await run(
    PYTHON,
    ["-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", ...packages],
    {
      cwd: ROOT,
      timeoutMs: 30 * 60_000,
      heartbeat: (line) => say(`  pip ${line}`),
      onLine: (line) => {
        // A line every 25 distributions keeps a long install visibly alive without flooding the output.
        const collecting = /^Collecting (\S+)/.exec(line);
        if (collecting) {
          shown += 1;
          if (shown % 25 === 1) say(`  pip: ${shown} distributions collected so far (now ${collecting[1]})`);
        } else if (line.startsWith("Successfully installed")) {
          shown += 1;
          say(`  pip: installed ${line.split(" ").length - 2} distributions`);
        }
      },
    },
  );
  if (result.code !== 0) {
    throw new StepError(
      "python venv",
      "pip could not install Airflow and the provider into .venv; is PyPI reachable?",
      tail(result.stderr || result.stdout, 30),
    );
  }
  if (shown === 0) say("  pip: everything was already installed");
  writeFileSync(stampFile, wanted);
  return true;
}

/**
 * Airflow settings for a run against the local emulator: the provider's `[ovhcloud_ai] max_check_interval`
 * caps the pause between two reads of a job, so the document's `check_interval=60` and `poke_interval=300`
 * cost a second instead of minutes when the job itself takes one.
 */
export const EMULATOR_RUN_SETTINGS = { AIRFLOW__OVHCLOUD_AI__MAX_CHECK_INTERVAL: "1" };

/** The environment an Airflow command needs: the venv first on PATH, the given AIRFLOW_HOME, no example DAGs. */
export function airflowEnv(airflowHome, extra = {}) {
  const env = { ...process.env };
  // A connection or setting from the caller's shell must not leak into a run that checks the examples.
  for (const key of Object.keys(env)) if (key.startsWith("AIRFLOW")) delete env[key];
  return {
    ...env,
    PATH: `${VENV_BIN}:${process.env.PATH ?? ""}`,
    VIRTUAL_ENV: VENV,
    AIRFLOW_HOME: airflowHome,
    AIRFLOW__CORE__LOAD_EXAMPLES: "False",
    AIRFLOW__CORE__DAGS_FOLDER: join(ROOT, "examples", "dags"),
    PYTHONWARNINGS: "ignore::DeprecationWarning",
    ...extra,
  };
}

/**
 * A migrated Airflow metadata database, made once with `airflow db migrate` and kept under `.airflow/`
 * (keyed by the Airflow version); each DAG run gets its own copy so runs never share state.
 * @returns {Promise<string>} the path of the migrated database file
 */
export async function ensureAirflowDb(say) {
  const base = join(ROOT, ".airflow", `base-${AIRFLOW_VERSION}`);
  const db = join(base, "airflow.db");
  const done = join(base, ".migrated");
  if (existsSync(done) && existsSync(db)) return db;
  say("migrating a fresh Airflow database (once; kept in .airflow/)");
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  const result = await run(join(VENV_BIN, "airflow"), ["db", "migrate"], {
    cwd: ROOT,
    env: airflowEnv(base),
    timeoutMs: 5 * 60_000,
  });
  if (result.code !== 0) {
    throw new StepError(
      "airflow db migrate",
      "airflow db migrate failed",
      tail(result.stdout + result.stderr, 30),
    );
  }
  writeFileSync(done, `${new Date().toISOString()}\n`);
  return db;
}

/** Makes `home` an AIRFLOW_HOME holding a copy of the migrated database. */
export function prepareAirflowHome(home, migratedDb) {
  mkdirSync(home, { recursive: true });
  copyFileSync(migratedDb, join(home, "airflow.db"));
  return home;
}

/**
 * A DAGs folder holding only a copy of `dagFile`; returns the copy's path, for `airflow dags test -f` (which
 * wants a file inside the DAGs folder). `dags test` syncs the whole DAGs folder into the database, so with one
 * file there a run parses one file, and a broken neighbour cannot fail it.
 */
export function isolatedDagFile(dir, dagFile) {
  mkdirSync(dir, { recursive: true });
  const copy = join(dir, basename(dagFile));
  copyFileSync(dagFile, copy);
  return copy;
}
