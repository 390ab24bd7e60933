#!/usr/bin/env node
/**
 * GET /v1/job/{id} under load from a second process (autocannon): throughput and p99 latency.
 * Targets: 3,000 req/s or more, p99 20 ms or less.
 */
import { api, autocannon, report, startEmulatorProcess } from "./_common.mjs";

const CONNECTIONS = 10;
const SECONDS = 8;

const emulator = await startEmulatorProcess();
try {
  const call = api(emulator);
  const job = await call("POST", "/v1/job", {
    image: "busybox",
    command: ["true"],
    labels: { bench: "get" },
  });
  const url = `${emulator.url}/v1/job/${job.id}`;
  const headers = ["-H", `authorization=Bearer ${emulator.token}`];
  await autocannon(["-c", String(CONNECTIONS), "-d", "1", ...headers, url]); // warm-up
  const result = await autocannon(["-c", String(CONNECTIONS), "-d", String(SECONDS), ...headers, url]);
  const extra = { connections: CONNECTIONS, seconds: SECONDS, non2xx: result.non2xx, errors: result.errors };
  report(
    "emulator GET /v1/job/{id} throughput",
    Math.round(result.requests.average),
    "req/s",
    3000,
    false,
    extra,
  );
  report("emulator GET /v1/job/{id} p99 latency", result.latency.p99, "ms", 20, true, extra);
} finally {
  await emulator.stop();
}
