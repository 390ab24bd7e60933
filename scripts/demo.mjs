#!/usr/bin/env node
/**
 * `npm run demo`: the whole system on one machine. Airflow runs the document's complete workflow DAG
 * (examples/dags/05_complete_workflow.py) against a local emulator of OVHcloud AI Training; the job's
 * train.py learns to tell three wine cultivars apart from real data and writes its model and metrics to
 * the output container.
 *
 * Steps: install and build the npm workspace; the repo's .venv with Airflow and the provider; start the
 * emulator on a free port with a temporary data directory; upload the Wine dataset into a container; run
 * the DAG with `airflow dags test`; show the job, its state timeline, its metrics and where the model
 * landed; stop the emulator. A failing step stops the demo with its name and the reason, and every process
 * the demo started is ended (also on Ctrl-C).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { installCleanup, run, stopAll, tail } from "./lib/proc.mjs";
import {
  buildWorkspace,
  ensureAirflowDb,
  ensureNodeModules,
  ensureVenv,
  isolatedDagFile,
  PYTHON,
  prepareAirflowHome,
  ROOT,
  StepError,
} from "./lib/setup.mjs";

const DAG_FILE = join(ROOT, "examples", "dags", "05_complete_workflow.py");
const DAG_ID = "complete_training_workflow";
const CLI = join(ROOT, "packages", "cli", "dist", "src", "bin.js");
const DATA = { alias: "data-alias", container: "training-data" };
const OUTPUT = { alias: "output-alias", container: "model-output" };
const DEMO_DIR = join(ROOT, ".demo");
const STEPS = 7;

const startedAt = Date.now();
let current = { number: 0, title: "starting" };
/** Cleanups to run at the end, last registered first, whether the demo succeeds or not. */
const cleanups = [];

function elapsed() {
  return `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
}

let interrupted = false;

function say(line = "") {
  // After Ctrl-C the steps still unwind; only the interruption message should be seen.
  if (interrupted) return;
  console.log(line === "" ? "" : `  ${line}`);
}

async function step(number, title, body) {
  current = { number, title };
  console.log(`\n[${number}/${STEPS}] ${title}  (${elapsed()})`);
  return body();
}

async function cleanUp() {
  for (const task of cleanups.splice(0).reverse()) {
    try {
      await task();
    } catch (error) {
      say(`cleanup: ${error.message}`);
    }
  }
  await stopAll(3000);
}

installCleanup((signal) => {
  interrupted = true;
  console.error(
    `\ndemo interrupted (${signal}) at step ${current.number} (${current.title}); stopping what it started`,
  );
});

/** Keeps the newest view of every job the emulator has, so the job is known even after delete_job. */
function watchJobs(client, isFinalState) {
  /** @type {Map<string, { job: any, seen: { state: string, at: Date }[], log?: string }>} */
  const jobs = new Map();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const { items } = await client.listJobs({ size: 100 });
        for (const job of items) {
          const entry = jobs.get(job.id) ?? { job, seen: [] };
          const state = job.status?.state;
          if (entry.seen.at(-1)?.state !== state) entry.seen.push({ state, at: new Date() });
          entry.job = job;
          jobs.set(job.id, entry);
          if (entry.log === undefined && isFinalState(state)) {
            entry.log = await client.getJobLogs(job.id).catch(() => undefined);
          }
        }
      } catch {
        // The emulator may be busy or already stopping; the next round tries again.
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    jobs,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

function formatTime(date) {
  return new Date(date).toISOString().slice(11, 23);
}

function printTimeline(job, seen) {
  const history =
    Array.isArray(job.status?.history) && job.status.history.length > 0 ? job.status.history : null;
  const rows = history
    ? history.map((h) => ({ state: h.state, at: new Date(h.date) }))
    : seen.map((s) => ({ state: s.state, at: s.at }));
  const first = rows[0]?.at.getTime() ?? 0;
  say(`state timeline${history ? " (status.history)" : " (as polled; the job gave no history)"}:`);
  for (const row of rows) {
    const offset = ((row.at.getTime() - first) / 1000).toFixed(2);
    say(`  ${row.state.padEnd(13)} ${formatTime(row.at)}  +${offset} s`);
  }
}

async function main() {
  console.log("npm run demo: train a wine classifier through Airflow and the local AI Training emulator");
  mkdirSync(DEMO_DIR, { recursive: true });

  await step(1, "npm workspace: install and build", async () => {
    if (!(await ensureNodeModules(say))) say("node_modules is up to date");
    const t = Date.now();
    await buildWorkspace();
    say(`built client, emulator and cli with tsc -b (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  });

  let migratedDb;
  await step(2, "Python environment: .venv with Airflow 3 and the provider", async () => {
    if (!(await ensureVenv(say))) say(".venv is up to date");
    migratedDb = await ensureAirflowDb(say);
    const version = await run(PYTHON, ["-c", "import airflow; print(airflow.__version__)"], { cwd: ROOT });
    say(
      `Airflow ${version.stdout.trim()}, provider apache-airflow-provider-ovhcloud-ai (editable, from provider/)`,
    );
  });

  const { runDagTest, startEmulator } = await import("./lib/emulator.mjs");
  const { AITrainingClient, isFinalState, isSuccessState } = await import("@ai-training/client");
  let emulator;
  await step(3, "start the AI Training emulator", async () => {
    // The emulator makes its temporary data folder itself and removes it when it exits, even when the demo
    // is killed (its stdin closes then), so a SIGKILLed demo leaves neither the process nor the folder.
    emulator = await startEmulator();
    cleanups.push(async () => {
      await emulator.stop();
      say("emulator stopped");
    });
    say(`listening on ${emulator.url}, temporary data directory ${emulator.dataDir}`);
    say(
      "image pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime -> examples/training (train.py); nothing is pulled",
    );
  });

  await step(4, "upload the dataset into Object Storage", async () => {
    const dataset = join(ROOT, "examples", "training", "data", "wine.csv");
    const result = await run(
      process.execPath,
      [CLI, "data", "upload", DATA.alias, DATA.container, dataset, "--data-dir", emulator.dataDir],
      { cwd: ROOT, timeoutMs: 60_000 },
    );
    if (result.code !== 0) {
      throw new StepError("upload", "ai-training data upload failed", tail(result.stderr || result.stdout));
    }
    say(`ai-training data upload ${DATA.alias} ${DATA.container} examples/training/data/wine.csv`);
    for (const line of tail(result.stdout, 5).split("\n")) if (line) say(`  ${line}`);
    say("UCI Wine recognition data: 178 wines, 13 measurements, 3 cultivars (CC BY 4.0; see its README)");
  });

  const client = new AITrainingClient({ token: emulator.token, endpoint: emulator.url });
  const watcher = watchJobs(client, isFinalState);
  cleanups.push(() => watcher.stop());
  let states;
  await step(5, `run the document's complete workflow: airflow dags test ${DAG_ID}`, async () => {
    const home = join(DEMO_DIR, "airflow");
    rmSync(home, { recursive: true, force: true });
    prepareAirflowHome(home, migratedDb);
    const dagFile = isolatedDagFile(join(home, "dags"), DAG_FILE);
    const logFile = join(DEMO_DIR, "airflow-dags-test.log");
    say(`DAG file ${relative(ROOT, DAG_FILE)}; full Airflow output in ${relative(ROOT, logFile)}`);
    say(
      "Airflow takes ~10 s to start. The DAG asks check_interval=60; for this local run the provider setting " +
        "AIRFLOW__OVHCLOUD_AI__MAX_CHECK_INTERVAL=1 caps it at 1 s",
    );
    let running = "";
    const heartbeat = setInterval(() => {
      if (!running) return;
      const job = [...watcher.jobs.values()].at(-1)?.job;
      say(
        `  ... ${running} still running (${elapsed()})${job ? `; job ${job.id} is ${job.status?.state}` : ""}`,
      );
    }, 15_000);
    const result = await runDagTest(emulator, {
      home,
      dagId: DAG_ID,
      dagFile,
      logFile,
      timeoutMs: 10 * 60_000,
      onLine: (line) => {
        const started = /\[DAG TEST\] starting task_id=(\S+)/.exec(line);
        if (started) {
          running = started[1];
          say(`task ${running}: started`);
        }
        const ended = /\[DAG TEST\] end task task_id=(\S+)/.exec(line);
        if (ended) {
          running = "";
          say(`task ${ended[1]}: finished`);
        }
      },
    });
    clearInterval(heartbeat);
    const read = await run(
      PYTHON,
      [
        "-c",
        "import json, sqlite3, sys; db = sqlite3.connect(sys.argv[1]); " +
          "print(json.dumps(dict(db.execute('SELECT task_id, state FROM task_instance WHERE dag_id = ?', (sys.argv[2],)).fetchall())))",
        join(home, "airflow.db"),
        DAG_ID,
      ],
      { cwd: ROOT },
    );
    states = read.code === 0 ? JSON.parse(read.stdout) : {};
    say(
      `task states: ${
        Object.entries(states)
          .map(([task, state]) => `${task}=${state}`)
          .join(", ") || "none"
      }`,
    );
    if (result.code !== 0 || Object.values(states).some((state) => state !== "success")) {
      throw new StepError(
        "airflow dags test",
        `the DAG run did not succeed (exit ${result.code ?? result.error?.message})`,
        tail(`${result.stdout}\n${result.stderr}`, 30),
      );
    }
  });

  await step(6, "the training job and its model", async () => {
    await watcher.stop();
    const entries = [...watcher.jobs.values()];
    if (entries.length !== 1) {
      throw new StepError("results", `expected one job on the emulator, saw ${entries.length}`);
    }
    const [{ job, seen, log }] = entries;
    say(`job id      ${job.id}`);
    say(
      `job name    ${job.spec?.name}  (image ${job.spec?.image}, flavor ${job.spec?.resources?.flavor ?? "-"})`,
    );
    const volumes = (job.spec?.volumes ?? []).map((v) => {
      const store = v.dataStore ?? v.volumeSource?.dataStore ?? {};
      return `${store.container}@${store.alias} -> ${v.mountPath} ${v.permission}`;
    });
    say(`volumes     ${volumes.join(", ")}`);
    printTimeline(job, seen);
    const state = job.status?.state;
    say(`final state ${state}, exit code ${job.status?.exitCode ?? "-"}`);
    if (!isSuccessState(state))
      throw new StepError("results", `the job ended ${state}, not DONE`, log ? tail(log, 15) : "");
    // delete_job removed the job from the API; this is the emulator's answer before that.
    const gone = await client.getJob(job.id).then(
      () => false,
      (error) => error?.status === 404 || error?.name === "NotFoundError",
    );
    say(`delete_job (trigger_rule=all_done): the job ${gone ? "is deleted (404)" : "still exists"}`);
    if (log) {
      say("training log (last lines):");
      for (const line of tail(log, 4).split("\n")) say(`  ${line}`);
    }

    const downloaded = join(DEMO_DIR, "output");
    rmSync(downloaded, { recursive: true, force: true });
    const result = await run(
      process.execPath,
      [CLI, "data", "download", OUTPUT.alias, OUTPUT.container, downloaded, "--data-dir", emulator.dataDir],
      { cwd: ROOT, timeoutMs: 60_000 },
    );
    if (result.code !== 0) {
      throw new StepError(
        "results",
        "ai-training data download of the output container failed",
        tail(result.stderr),
      );
    }
    const metricsFile = join(downloaded, "metrics.json");
    const modelFile = join(downloaded, "model.json");
    if (!existsSync(metricsFile) || !existsSync(modelFile)) {
      throw new StepError(
        "results",
        `the output container ${OUTPUT.container} holds no model.json/metrics.json`,
      );
    }
    const metrics = JSON.parse(readFileSync(metricsFile, "utf8"));
    say(
      `metrics     held-out accuracy ${(metrics.held_out_accuracy * 100).toFixed(1)}% on ${metrics.held_out_rows} wines ` +
        `(train accuracy ${(metrics.train_accuracy * 100).toFixed(1)}%, held-out loss ${metrics.held_out_loss.toFixed(3)})`,
    );
    say(
      `            ${metrics.algorithm}, ${metrics.epochs} epochs, MODEL_NAME=${metrics.model_name} (recorded), ` +
        `${metrics.seconds} s of training`,
    );
    const size = (file) => `${(statSync(file).size / 1024).toFixed(1)} kB`;
    say(
      `model       container ${OUTPUT.container} (alias ${OUTPUT.alias}): model.json ${size(modelFile)}, metrics.json ${size(metricsFile)}`,
    );
    say(
      `            (in the emulator's temporary data directory, ${join("object-storage", OUTPUT.alias, OUTPUT.container)}; ` +
        "removed when the emulator stops)",
    );
    say(`            downloaded with ai-training data download to ${relative(ROOT, downloaded)}/`);
  });

  await step(7, "stop the emulator", async () => {
    await cleanUp();
  });
  console.log(`\ndemo done in ${elapsed()}: job DONE, model and metrics in .demo/output/`);
}

main().then(
  () => process.exit(0),
  async (error) => {
    const where = `step ${current.number}/${STEPS} (${current.title})`;
    console.error(`\ndemo failed at ${where}: ${error.message}`);
    if (error.detail) console.error(error.detail.replace(/^/gm, "    "));
    if (!(error instanceof StepError) && error.stack) console.error(error.stack);
    await cleanUp();
    process.exit(1);
  },
);
