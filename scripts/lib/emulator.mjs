/**
 * A real emulator process for the root scripts: started on 127.0.0.1 with a free port and its own data
 * directory, the image of the document's examples mapped to examples/training, stopped with everything
 * it runs.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { startEmulatorProcess } from "@ai-training/emulator/testing";
import { run, stopWithChildren } from "./proc.mjs";
import { airflowEnv, EMULATOR_RUN_SETTINGS, ROOT, StepError, VENV_BIN } from "./setup.mjs";

/** The image every example of the document uses; the emulator finds its files (train.py) here. */
export const TRAINING_IMAGE = "pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime";
export const TRAINING_DIR = join(ROOT, "examples", "training");
export const DATASET = join(TRAINING_DIR, "data", "wine.csv");
/** The emulator's own default grace (`--stop-grace-ms`), as a user's emulator started without the flag has. */
const STOP_GRACE_MS = 10_000;

/**
 * Starts the built emulator with `startEmulatorProcess` of `@ai-training/emulator/testing` (the scripts
 * load this module only after the build step) and resolves once it listens. It is stopped with the
 * script's children when the script fails or is interrupted, and stops by itself when the script dies
 * (its stdin closes). Without `dataDir`, the emulator makes a temporary data folder and removes it when it
 * exits, however the script ends (even by SIGKILL); `emulator.dataDir` names it.
 * @param {{ dataDir?: string, slots?: number, startTimeoutMs?: number }} options
 * @returns {Promise<import("@ai-training/emulator/testing").EmulatorProcess>}
 */
export async function startEmulator({ dataDir, slots = 4, startTimeoutMs = 30_000 } = {}) {
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  let emulator;
  try {
    emulator = await startEmulatorProcess({
      dataDir,
      slots,
      images: { [TRAINING_IMAGE]: TRAINING_DIR },
      stopGraceMs: STOP_GRACE_MS,
      startTimeoutMs,
    });
  } catch (error) {
    throw new StepError("start the emulator", error.message);
  }
  const forget = stopWithChildren(emulator);
  return {
    ...emulator,
    stop: async () => {
      await emulator.stop();
      forget();
    },
  };
}

/** The folder that holds a container's objects in the emulator's Object Storage. */
export function containerDir(dataDir, alias, container) {
  return join(dataDir, "object-storage", alias, container);
}

/**
 * Puts files into a container of the emulator's Object Storage by writing its documented on-disk layout
 * (`DATA_DIR/object-storage/ALIAS/CONTAINER/PREFIX/...`), which is quicker than one CLI call per container.
 */
export function putObjects(dataDir, alias, container, files, prefix = "") {
  const target = join(containerDir(dataDir, alias, container), prefix);
  mkdirSync(target, { recursive: true });
  for (const file of files) copyFileSync(file, join(target, basename(file)));
}

/** An AIRFLOW_CONN_* value for a connection to this emulator, in Airflow's JSON form. */
export function airflowConnection(emulator) {
  return JSON.stringify({
    conn_type: "generic",
    login: "gra",
    password: emulator.token,
    host: emulator.url,
  });
}

/**
 * Runs `airflow dags test DAG_ID -f DAG_FILE` in the AIRFLOW_HOME `home` against `emulator`: the default
 * connection points at it, the DAG file's folder is the DAGs folder, and check intervals are capped for a
 * local run (EMULATOR_RUN_SETTINGS).
 * @param {{ url: string, token: string }} emulator
 * @param {{ home: string, dagId: string, dagFile: string } & Record<string, unknown>} options the rest goes
 *   to `run` (logFile, timeoutMs, onLine...)
 */
export function runDagTest(emulator, { home, dagId, dagFile, ...runOptions }) {
  return run(join(VENV_BIN, "airflow"), ["dags", "test", dagId, "-f", dagFile], {
    cwd: ROOT,
    env: airflowEnv(home, {
      ...EMULATOR_RUN_SETTINGS,
      AIRFLOW__CORE__DAGS_FOLDER: dirname(dagFile),
      AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT: airflowConnection(emulator),
    }),
    ...runOptions,
  });
}
