import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Job } from "@ai-training/client";
import { startEmulatorProcess } from "../src/testing.js";
import { call, submit, waitForLog, waitForState } from "./helpers.js";

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "main.js");

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid a job printed as `pid=N`. */
function printedPid(log: string): number {
  const match = /pid=(\d+)/.exec(log);
  assert.ok(match, `the job printed its pid: ${log}`);
  return Number(match[1]);
}

async function waitForStderr(emulator: { stderr(): string }, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 400 && !pattern.test(emulator.stderr()); i++)
    await new Promise((r) => setTimeout(r, 25));
  assert.match(emulator.stderr(), pattern);
}

async function waitUntilGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
  return !isAlive(pid);
}

describe("the emulator process", () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("jobs, history and logs survive a crash; jobs active at the crash are ERROR on the next start", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "emulator-restart-"));
    dirs.push(dataDir);
    const first = await startEmulatorProcess({ dataDir });
    const ended = await submit(first, { image: "busybox", command: ["sh", "-c", "echo kept"] });
    await waitForState(first, ended.id, "DONE");
    const running = await submit(first, { image: "busybox", command: ["sh", "-c", "echo pid=$$; sleep 60"] });
    const log = await waitForLog(first, running.id, "pid=");
    await waitForState(first, running.id, "RUNNING");
    const jobPid = printedPid(log);

    first.kill("SIGKILL");
    await first.exited;
    assert.ok(isAlive(jobPid), "a SIGKILLed emulator cannot stop its job; the next start must");

    const second = await startEmulatorProcess({ dataDir, token: first.token, readToken: first.readToken });
    try {
      assert.ok(await waitUntilGone(jobPid), `the next start killed the leftover job process ${jobPid}`);
      const survivor = await call<Job>(second, "GET", `/v1/job/${ended.id}`);
      assert.equal(survivor.body.status.state, "DONE");
      assert.equal((await call(second, "GET", `/v1/job/${ended.id}/log`)).text, "kept\n");

      const orphan = await call<Job>(second, "GET", `/v1/job/${running.id}`);
      assert.equal(orphan.body.status.state, "ERROR");
      assert.equal(orphan.body.status.info?.code, "EMULATOR_RESTARTED");
      assert.match(orphan.body.status.info?.message ?? "", /RUNNING/);
      assert.deepEqual(orphan.body.status.history.map((h) => h.state).slice(-2), ["RUNNING", "ERROR"]);
      assert.match(second.stderr(), /marked 1 job\(s\) ERROR/);

      assert.equal((await call(second, "PUT", `/v1/job/${running.id}/start`)).status, 204);
      await waitForState(second, running.id, "RUNNING");
    } finally {
      await second.stop();
      try {
        process.kill(-jobPid, "SIGKILL"); // leave nothing behind even when the assertion above failed
      } catch {}
    }
  });

  test("a second emulator on the same data dir is refused while the first runs, and welcome after", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "emulator-lock-"));
    dirs.push(dataDir);
    const first = await startEmulatorProcess({ dataDir });
    try {
      await assert.rejects(startEmulatorProcess({ dataDir }), /in use by the emulator with pid \d+/);
      const job = await submit(first, { image: "busybox", command: ["sh", "-c", "sleep 60"] });
      await waitForState(first, job.id, "RUNNING");
      assert.equal((await call<Job>(first, "GET", `/v1/job/${job.id}`)).body.status.state, "RUNNING");
    } finally {
      await first.stop();
    }
    const second = await startEmulatorProcess({ dataDir });
    await second.stop();
  });

  test("SIGTERM interrupts running jobs, stores them, exits 0 and leaves no job process", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "emulator-sigterm-"));
    dirs.push(dataDir);
    const emulator = await startEmulatorProcess({ dataDir, slots: 1 });
    const running = await submit(emulator, {
      image: "busybox",
      command: ["sh", "-c", "echo pid=$$; sleep 60"],
    });
    const queued = await submit(emulator, { image: "busybox", command: ["true"] });
    const jobPid = printedPid(await waitForLog(emulator, running.id, "pid="));
    assert.ok(isAlive(jobPid));

    emulator.kill("SIGTERM");
    const exit = await emulator.exited;
    assert.equal(exit.code, 0);
    assert.ok(await waitUntilGone(jobPid), `job process ${jobPid} is gone`);

    const again = await startEmulatorProcess({ dataDir, token: emulator.token });
    try {
      const stopped = await call<Job>(again, "GET", `/v1/job/${running.id}`);
      assert.equal(stopped.body.status.state, "INTERRUPTED");
      assert.equal(stopped.body.status.info?.code, "EMULATOR_SHUTDOWN");
      const notRun = await call<Job>(again, "GET", `/v1/job/${queued.id}`);
      assert.equal(notRun.body.status.state, "INTERRUPTED");
      assert.doesNotMatch(again.stderr(), /marked/);
    } finally {
      await again.stop();
    }
  });

  test("an emulator started by startEmulatorProcess stops when its parent is SIGKILLed", async () => {
    const testing = path.join(path.dirname(MAIN), "testing.js");
    const script = `import(${JSON.stringify(testing)}).then(async (t) => { const e = await t.startEmulatorProcess(); console.log("dir=" + e.dataDir); console.log("pid=" + e.pid); setInterval(() => {}, 1000); });`;
    const parent = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    parent.stdout.setEncoding("utf8");
    const emulatorPid = await new Promise<number>((resolve, reject) => {
      parent.stdout.on("data", (chunk: string) => {
        out += chunk;
        const match = /pid=(\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      parent.once("exit", () => reject(new Error(`parent exited early: ${out}`)));
    });
    const dataDir = /dir=(.+)\n/.exec(out)?.[1] ?? "";
    assert.ok(existsSync(path.join(dataDir, "emulator.sqlite")), `the emulator uses ${dataDir}`);
    assert.ok(isAlive(emulatorPid));
    parent.kill("SIGKILL");
    const gone = await waitUntilGone(emulatorPid);
    if (!gone) process.kill(emulatorPid, "SIGKILL");
    assert.ok(gone, `emulator ${emulatorPid} exited once its parent died`);
    assert.equal(existsSync(dataDir), false, "it removed the temporary data folder it made");
  });

  test("a second signal while stopping exits at once with 1, and --help documents the exit codes", async () => {
    // A job that ignores SIGTERM keeps the first stop waiting for the (long) grace to end.
    const emulator = await startEmulatorProcess({ stopGraceMs: 60_000 });
    const job = await submit(emulator, {
      image: "busybox",
      command: ["sh", "-c", "trap '' TERM; echo pid=$$; while :; do sleep 1; done"],
    });
    const jobPid = printedPid(await waitForLog(emulator, job.id, "pid="));
    emulator.kill("SIGTERM");
    await waitForStderr(emulator, /interrupting active jobs/);
    emulator.kill("SIGTERM");
    const exit = await emulator.exited;
    assert.equal(exit.code, 1, emulator.stderr());
    assert.match(emulator.stderr(), /received SIGTERM again while stopping; exiting now/);
    assert.ok(await waitUntilGone(jobPid), `job process ${jobPid} is gone`);

    const help = spawn(process.execPath, [MAIN, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    help.stdout.setEncoding("utf8").on("data", (c: string) => {
      text += c;
    });
    assert.equal(await new Promise((resolve) => help.once("exit", resolve)), 0);
    assert.match(text, /SIGINT or SIGTERM[\s\S]*exits 0[\s\S]*not 130 or 143/);
    assert.match(text, /second signal\s+while stopping exits at once with 1/);
  });

  test("startEmulatorProcess removes the temporary data folder it asked for, and keeps one it was given", async () => {
    const own = await startEmulatorProcess();
    assert.ok(existsSync(path.join(own.dataDir, "emulator.sqlite")), `the emulator uses ${own.dataDir}`);
    await submit(own, { image: "busybox", command: ["true"] });
    await own.stop();
    assert.equal(existsSync(own.dataDir), false, `${own.dataDir} is removed on stop`);

    const crashed = await startEmulatorProcess();
    crashed.kill("SIGKILL");
    await crashed.exited;
    assert.equal(existsSync(crashed.dataDir), false, "removed even when the emulator was killed");

    const given = mkdtempSync(path.join(os.tmpdir(), "emulator-given-"));
    dirs.push(given);
    const kept = await startEmulatorProcess({ dataDir: given });
    assert.equal(kept.dataDir, given);
    await kept.stop();
    assert.ok(existsSync(path.join(given, "emulator.sqlite")), "a folder the caller gave is kept");
  });

  test("without --data-dir it makes a temporary folder, says so, and removes it on SIGINT or SIGTERM", async () => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const child = spawn(process.execPath, [MAIN, "--port", "0"], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, OVH_AI_TRAINING_TOKEN: "op-token", OVH_AI_TRAINING_DATA_DIR: "" },
      });
      let err = "";
      let out = "";
      const announced = /^data dir \(temporary, removed on exit\): (.+)$/m;
      const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
      // stdout and stderr are two pipes: wait for both lines, whichever arrives first.
      await new Promise<void>((resolve, reject) => {
        const ready = () => {
          if (out.includes("listening on") && announced.test(err)) resolve();
        };
        child.stderr.setEncoding("utf8").on("data", (c: string) => {
          err += c;
          ready();
        });
        child.stdout.setEncoding("utf8").on("data", (c: string) => {
          out += c;
          ready();
        });
        void exit.then(() => reject(new Error(`exited early: ${err}`)));
      });
      const dataDir = announced.exec(err)?.[1] ?? "";
      assert.ok(existsSync(path.join(dataDir, "emulator.sqlite")), `it said where its data is: ${err}`);
      child.kill(signal);
      assert.equal(await exit, 0, signal);
      assert.equal(existsSync(dataDir), false, `${dataDir} is removed on ${signal}`);
    }
  });

  test("startEmulatorProcess passes its tokens through the environment, never on the command line", async () => {
    const emulator = await startEmulatorProcess();
    try {
      const cmdline = readFileSync(`/proc/${emulator.pid}/cmdline`, "utf8").split("\0");
      assert.ok(
        cmdline.some((word) => word.endsWith("main.js")),
        `this is the emulator: ${cmdline.join(" ")}`,
      );
      for (const secret of [emulator.token, emulator.readToken]) {
        assert.ok(!cmdline.some((word) => word.includes(secret)), `no token in argv: ${cmdline.join(" ")}`);
      }
      assert.equal(cmdline.includes("--token"), false);
      assert.equal(cmdline.includes("--read-token"), false);
      const me = await call<{ role: string }>(emulator, "GET", "/v1/me");
      assert.equal(me.body.role, "operator");
      const read = await call<{ role: string }>(emulator, "GET", "/v1/me", { token: emulator.readToken });
      assert.equal(read.status, 200);
      const write = await call(emulator, "POST", "/v1/job", {
        token: emulator.readToken,
        body: { image: "busybox", command: ["true"] },
      });
      assert.equal(write.status, 403, "the read token from OVH_AI_TRAINING_READ_TOKEN is read-only");
    } finally {
      await emulator.stop();
    }
  });

  test("without --token it makes one, prints it after the listening line, and it works", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "emulator-token-"));
    dirs.push(dataDir);
    const child = spawn(process.execPath, [MAIN, "--port", "0", "--data-dir", dataDir], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, OVH_AI_TRAINING_TOKEN: "" },
    });
    try {
      let out = "";
      child.stdout.setEncoding("utf8");
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: string) => {
          out += chunk;
          if (/token: \S+\n/.test(out)) resolve();
        });
        child.once("exit", () => reject(new Error(`exited early: ${out}`)));
      });
      const lines = out.trimEnd().split("\n");
      assert.match(lines[0] ?? "", /^listening on http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(lines[1] ?? "", /^token: \S+$/);
      const url = (lines[0] as string).replace("listening on ", "");
      const token = (lines[1] as string).replace("token: ", "");
      const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { role: string }).role, "operator");
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  });

  test("--log-level info logs each request with its request id and never a token", async () => {
    const emulator = await startEmulatorProcess({ args: ["--log-level", "info"] });
    try {
      const job = await submit(emulator, { image: "busybox", command: ["true"] });
      await waitForState(emulator, job.id, "DONE");
      await call(emulator, "GET", `/v1/job/${job.id}`, { token: emulator.readToken });
      await call(emulator, "GET", "/v1/me", { token: "not-a-token-secret" });
      await call(emulator, "DELETE", `/v1/job/${job.id}`, { token: emulator.readToken });
    } finally {
      await emulator.stop();
    }
    const logged = emulator.stderr();
    const lines = logged
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { reqId?: string; msg?: string });
    assert.ok(lines.length >= 8, `request lines were logged: ${logged}`);
    const requestLines = lines.filter((l) => !/listening/i.test(l.msg ?? "") && l.msg !== "job state");
    for (const line of requestLines) assert.ok(line.reqId, `a request id on ${JSON.stringify(line)}`);
    const states = lines.filter((l) => l.msg === "job state") as Array<{ jobId?: string; state?: string }>;
    assert.ok(
      states.some((l) => l.state === "DONE" && l.jobId),
      "each change of state is logged with its job id",
    );
    for (const secret of [emulator.token, emulator.readToken, "not-a-token-secret"]) {
      assert.ok(!logged.includes(secret), "no token in the log");
    }
  });

  test("a non-loopback --host is refused unless --allow-remote is given", async () => {
    const child = spawn(process.execPath, [MAIN, "--host", "0.0.0.0", "--port", "0", "--token", "t"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      err += c;
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 2);
    assert.match(err, /refusing to listen on 0\.0\.0\.0/);
    assert.match(err, /--allow-remote/);
  });

  test("bad flags exit 2 with a message naming the flag", async () => {
    for (const [args, pattern] of [
      [["--slots", "0"], /--slots must be an integer from 1/],
      [["--port", "http"], /--port must be an integer/],
      [["--fault-rate-429", "2"], /--fault-rate-429 must be a number from 0 to 1/],
      [["--image", "noequals"], /--image 'noequals' must be IMAGE=DIR/],
      [["--image", "py=/nonexistent-image-dir"], /--image 'py=\/nonexistent-image-dir': \S+ does not exist/],
      [["--image", `py=${MAIN}`], /--image 'py=.*main\.js': \S+ is not a folder/],
      [["--bogus"], /unknown option --bogus/],
    ] as const) {
      const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      child.stderr.setEncoding("utf8").on("data", (c: string) => {
        err += c;
      });
      // An emulator that accepted the flags would run on: end it so the assertion below fails, not hangs.
      const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      clearTimeout(guard);
      assert.equal(code, 2, `${args.join(" ")}: ${err}`);
      assert.match(err, pattern);
    }
  });
});

describe("fault injection", () => {
  test("is off by default and, when seeded, gives the same answers for the same seed", async () => {
    const statuses = async (seed: number) => {
      const emulator = await startEmulatorProcess({ faults: { rate429: 0.3, rate503: 0.3, seed } });
      try {
        const seen: number[] = [];
        for (let i = 0; i < 20; i++)
          seen.push((await call(emulator, "GET", "/v1/capabilities/flavor")).status);
        return seen;
      } finally {
        await emulator.stop();
      }
    };
    const first = await statuses(42);
    const second = await statuses(42);
    assert.deepEqual(first, second);
    assert.ok(first.includes(429) && first.includes(503) && first.includes(200), first.join(","));
    const other = await statuses(7);
    assert.notDeepEqual(other, first);

    const clean = await startEmulatorProcess();
    try {
      for (let i = 0; i < 20; i++)
        assert.equal((await call(clean, "GET", "/v1/capabilities/flavor")).status, 200);
    } finally {
      await clean.stop();
    }
  });

  test("429 and 503 carry Retry-After and a JSON message; dropped connections fail the request", async () => {
    const emulator = await startEmulatorProcess({ faults: { rate429: 1 } });
    try {
      const answer = await call<{ message: string }>(emulator, "GET", "/v1/me");
      assert.equal(answer.status, 429);
      assert.equal(answer.headers.get("retry-after"), "1");
      assert.match(answer.body.message, /too many requests/);
    } finally {
      await emulator.stop();
    }
    const quick = await startEmulatorProcess({ faults: { rate503: 1, retryAfterSeconds: 0 } });
    try {
      const answer = await call<{ message: string }>(quick, "GET", "/v1/me");
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get("retry-after"), "0");
      assert.match(answer.body.message, /fault injected/);
    } finally {
      await quick.stop();
    }
    const dropping = await startEmulatorProcess({ faults: { dropRate: 1 } });
    try {
      await assert.rejects(
        fetch(`${dropping.url}/v1/me`, { headers: { authorization: `Bearer ${dropping.token}` } }),
      );
    } finally {
      await dropping.stop();
    }
  });
});
