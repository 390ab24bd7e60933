#!/usr/bin/env node
/**
 * Submit-to-RUNNING for a job with no volume: the median over sequential jobs, measured from the job's
 * own history (QUEUED date to RUNNING date, the emulator's clock) and as a client sees it (POST sent to
 * the first GET answering RUNNING). Target: median 300 ms or less.
 */
import { api, median, report, startEmulatorProcess } from "./_common.mjs";

const JOBS = 20;

const emulator = await startEmulatorProcess({ slots: 2 });
try {
  const call = api(emulator);
  const server = [];
  const observed = [];
  for (let i = 0; i < JOBS; i++) {
    const t0 = performance.now();
    const job = await call("POST", "/v1/job", { image: "busybox", command: ["sleep", "30"] });
    let current = job;
    while (current.status.state !== "RUNNING") {
      if (["DONE", "FAILED", "ERROR", "INTERRUPTED"].includes(current.status.state)) {
        throw new Error(
          `bench job ${job.id} ended ${current.status.state} before RUNNING: ${current.status.info?.message}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
      current = await call("GET", `/v1/job/${job.id}`);
    }
    observed.push(performance.now() - t0);
    const history = current.status.history;
    const queued = Date.parse(history.find((h) => h.state === "QUEUED").date);
    const running = Date.parse(history.find((h) => h.state === "RUNNING").date);
    server.push(running - queued);
    await call("PUT", `/v1/job/${job.id}/kill`);
  }
  const round = (v) => Math.round(v * 10) / 10;
  report("emulator submit-to-RUNNING median (job history)", round(median(server)), "ms", 300, true, {
    jobs: JOBS,
    max: round(Math.max(...server)),
  });
  report("emulator submit-to-RUNNING median (client observed)", round(median(observed)), "ms", 300, true, {
    jobs: JOBS,
    max: round(Math.max(...observed)),
  });
} finally {
  await emulator.stop();
}
