/**
 * A real emulator process for the root scripts: started on 127.0.0.1 with a free port and its own data
 * directory, the image of the document's examples mapped to examples/training, stopped with everything
 * it runs.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { start, stopChild, tail } from "./proc.mjs";
import { ROOT, StepError } from "./setup.mjs";

export const EMULATOR_MAIN = join(ROOT, "packages", "emulator", "dist", "src", "main.js");

/** The image every example of the document uses; the emulator finds its files (train.py) here. */
export const TRAINING_IMAGE = "pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime";
export const TRAINING_DIR = join(ROOT, "examples", "training");
export const DATASET = join(TRAINING_DIR, "data", "wine.csv");

/**
 * Starts `node packages/emulator/dist/src/main.js` and resolves once it prints `listening on URL`.
 * @param {{ dataDir: string, slots?: number, logFile?: string, startTimeoutMs?: number }} options
 * @returns {Promise<{ url: string, token: string, readToken: string, dataDir: string, output: () => string, stop: () => Promise<void> }>}
 */
export async function startEmulator({ dataDir, slots = 4, startTimeoutMs = 30_000 }) {
  if (!existsSync(EMULATOR_MAIN)) {
    throw new StepError(
      "start the emulator",
      `${EMULATOR_MAIN} does not exist: the emulator package is not built (npm run build)`,
    );
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(18).toString("hex");
  const readToken = randomBytes(18).toString("hex");
  const args = [
    EMULATOR_MAIN,
    "--port",
    "0",
    "--data-dir",
    dataDir,
    "--token",
    token,
    "--read-token",
    readToken,
    "--slots",
    String(slots),
    "--image",
    `${TRAINING_IMAGE}=${TRAINING_DIR}`,
  ];
  const child = start(process.execPath, args, { cwd: ROOT });
  let output = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new StepError(
          "start the emulator",
          `no "listening on" line within ${startTimeoutMs / 1000} s`,
          tail(output),
        ),
      );
    }, startTimeoutMs);
    const onData = (chunk) => {
      output += chunk;
      const match = /^listening on (http:\/\/\S+)\s*$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(
        new StepError(
          "start the emulator",
          `the emulator exited (${signal ?? `exit ${code}`}) before listening`,
          tail(output),
        ),
      );
    });
  });
  return {
    url,
    token,
    readToken,
    dataDir,
    output: () => output,
    stop: () => stopChild(child, 10_000),
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
