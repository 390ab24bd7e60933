#!/usr/bin/env node
/**
 * With 10,000 stored jobs: the time to answer the first page of GET /v1/job (median of 50 requests,
 * target 20 ms or less) and the emulator's resident memory (target 200 MB or less).
 *
 * BENCH-ONLY SEEDING: the 10,000 jobs are written straight into the store of a fresh data folder with
 * the emulator's own JobStore and buildJob (ended jobs, realistic specs), before the emulator starts on
 * that folder. Submitting them over HTTP would run 10,000 processes and measure something else.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildJob } from "../dist/src/engine/jobs.js";
import { JobStore } from "../dist/src/store/store.js";
import { median, percentile, report, rssMb, startEmulatorProcess } from "./_common.mjs";

const JOBS = 10_000;
const STATES = ["DONE", "DONE", "DONE", "FAILED", "INTERRUPTED"];

const dataDir = mkdtempSync(path.join(os.tmpdir(), "emulator-bench-list-"));
try {
  const store = new JobStore(dataDir);
  const base = Date.now() - JOBS * 1000;
  function* jobs() {
    for (let i = 0; i < JOBS; i++) {
      const job = buildJob(
        {
          image: "pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime",
          name: `bench-${i}`,
          command: ["python", "train.py", "--epochs", "10"],
          envVars: [{ name: "EPOCHS", value: "10" }],
          labels: { project: `p${i % 10}`, env: i % 2 ? "prod" : "dev" },
          volumes: [{ mountPath: "/workspace/data", dataStore: { alias: "GRA", container: "data" } }],
        },
        { baseUrl: "http://127.0.0.1:0", userName: "emulator-user" },
        new Date(base + i * 1000),
      );
      const state = STATES[i % STATES.length];
      const date = new Date(base + i * 1000 + 500).toISOString();
      job.status.state = state;
      job.status.history.push({ state, date });
      job.status.finalizedAt = date;
      job.status.exitCode = state === "DONE" ? 0 : 1;
      job.updatedAt = date;
      yield job;
    }
  }
  store.insertMany(jobs());
  store.close();

  const emulator = await startEmulatorProcess({ dataDir });
  try {
    const headers = { authorization: `Bearer ${emulator.token}` };
    const times = [];
    const serverTimes = [];
    let total = 0;
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      const response = await fetch(`${emulator.url}/v1/job`, { headers });
      const body = await response.json();
      const elapsed = performance.now() - t0;
      total = body.metadata.total;
      if (body.items.length !== 100) throw new Error(`first page had ${body.items.length} jobs, not 100`);
      if (i >= 10) {
        // The first requests warm the JIT and the page cache.
        times.push(elapsed);
        serverTimes.push(Number(/dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1]));
      }
    }
    if (total !== JOBS) throw new Error(`the list reported ${total} jobs, not ${JOBS}`);
    const filtered = [];
    const filteredServer = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const response = await fetch(`${emulator.url}/v1/job?statusState=FAILED&labelSelector=project=p3`, {
        headers,
      });
      await response.json();
      filtered.push(performance.now() - t0);
      filteredServer.push(Number(/dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1]));
    }
    const round = (v) => Math.round(v * 100) / 100;
    report("emulator first page of GET /v1/job with 10,000 jobs", round(median(times)), "ms", 20, true, {
      p95: round(percentile(times, 95)),
      serverMedian: round(median(serverTimes)),
      pageSize: 100,
      filteredMedian: round(median(filtered)),
      filteredServerMedian: round(median(filteredServer)),
    });
    report("emulator resident memory with 10,000 jobs", rssMb(emulator.pid), "MB", 200, true, { jobs: JOBS });
  } finally {
    await emulator.stop();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
