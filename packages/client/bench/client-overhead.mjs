#!/usr/bin/env node
/**
 * Client overhead: `client.getJob(id)` against a bare `fetch` of the same URL (same headers, body parsed
 * as JSON), against a real emulator process, in the same run, compared by median per-call time.
 * Prints one JSON line; target: client at most 1.2x the bare fetch.
 * Needs `npm run build` first.
 */
import { performance } from "node:perf_hooks";
import { AITrainingClient } from "@ai-training/client";
import { startEmulatorProcess } from "@ai-training/emulator/testing";

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const TARGET = 1.2;

const emulator = await startEmulatorProcess();
try {
  const client = new AITrainingClient({ token: emulator.token, endpoint: emulator.url });
  const job = await client.submitJob({ image: "python:3.12", command: ["true"] });
  await client.waitForJob(job.id, { interval: 50, timeout: 30_000 });
  const url = `${emulator.url}/v1/job/${encodeURIComponent(job.id)}`;
  const headers = { authorization: `Bearer ${emulator.token}`, accept: "application/json" };

  const viaClient = async () => {
    const got = await client.getJob(job.id);
    if (got.id !== job.id) throw new Error("client read the wrong job");
  };
  const viaFetch = async () => {
    const response = await fetch(url, { headers });
    if (!response.ok) throw new Error(`bare fetch answered ${response.status}`);
    const got = await response.json();
    if (got.id !== job.id) throw new Error("fetch read the wrong job");
  };
  // Calls alternate one by one (the order flipping each time), and each side keeps its median per-call
  // time: on a shared machine, noise comes in bursts that a mean or a block-by-block timing would pin on
  // whichever side happened to run during them.
  const once = async (fn) => {
    const started = performance.now();
    await fn();
    return performance.now() - started;
  };
  for (let i = 0; i < 200; i += 1) {
    await viaFetch();
    await viaClient();
  }
  const clientTimes = [];
  const fetchTimes = [];
  for (let i = 0; i < CALLS; i += 1) {
    if (i % 2 === 0) {
      fetchTimes.push(await once(viaFetch));
      clientTimes.push(await once(viaClient));
    } else {
      clientTimes.push(await once(viaClient));
      fetchTimes.push(await once(viaFetch));
    }
  }
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const clientMs = median(clientTimes);
  const fetchMs = median(fetchTimes);
  const ratio = clientMs / fetchMs;
  console.log(
    JSON.stringify({
      name: "client getJob overhead vs bare fetch",
      value: Number(ratio.toFixed(3)),
      unit: "x",
      target: TARGET,
      ok: ratio <= TARGET,
      client_ms: Number(clientMs.toFixed(3)),
      fetch_ms: Number(fetchMs.toFixed(3)),
      client_mean_ms: Number(mean(clientTimes).toFixed(3)),
      fetch_mean_ms: Number(mean(fetchTimes).toFixed(3)),
      calls_each: CALLS,
    }),
  );
} finally {
  await emulator.stop();
}
