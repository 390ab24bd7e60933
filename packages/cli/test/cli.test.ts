/** The `ai-training` command line as users run it: a real process, against a real emulator process. */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { AITrainingClient, type Job } from "@ai-training/client";

const BIN = fileURLToPath(new URL("../src/bin.js", import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

interface Emulator {
  url: string;
  token: string;
  readToken: string;
  dataDir: string;
  stop(): Promise<void>;
}

let emulator: Emulator;
let client: AITrainingClient;
/** Every token a test used, none of which may appear in any output. */
const secrets = new Set<string>();

before(async () => {
  // A variable specifier: the emulator's types are not needed to build the command line's tests.
  const specifier = "@ai-training/emulator/testing";
  const testing = (await import(specifier)) as { startEmulatorProcess(o: object): Promise<Emulator> };
  emulator = await testing.startEmulatorProcess({ slots: 8, stopGraceMs: 300 });
  client = new AITrainingClient({ token: emulator.token, endpoint: emulator.url });
  secrets.add(emulator.token);
  secrets.add(emulator.readToken);
});

after(async () => {
  await emulator?.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ai-training ARGS` with the emulator's endpoint and token in the environment. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.OVH_AI_TRAINING_REGION;
  Object.assign(childEnv, {
    OVH_AI_TRAINING_ENDPOINT: emulator?.url,
    OVH_AI_TRAINING_TOKEN: emulator?.token,
    ...env,
  });
  for (const [key, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      for (const secret of secrets) {
        assert.ok(
          !stdout.includes(secret) && !stderr.includes(secret),
          `a token leaked in: ${args.join(" ")}`,
        );
      }
      resolve({ code, stdout, stderr });
    });
  });
}

async function submitted(args: string[]): Promise<Job> {
  const run = await cli(["job", "submit", "--output", "json", ...args]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Job;
}

const sh = (script: string) => ["--", "sh", "-c", script];

describe("version and help", () => {
  test("--version prints the package version", async () => {
    const run = await cli(["--version"]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `ai-training ${VERSION}\n`);
  });

  test("the committed launcher npm links as `ai-training` runs the built command line", async () => {
    const launcher = fileURLToPath(new URL("../../bin/ai-training.js", import.meta.url));
    const run = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [launcher, "--version"], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
      });
      child.on("error", reject);
      child.on("close", () => resolve(out));
    });
    assert.equal(run, `ai-training ${VERSION}\n`);
  });

  test("--help lists the commands, the environment and the exit codes", async () => {
    const run = await cli(["--help"]);
    assert.equal(run.code, 0);
    for (const text of [
      "job submit",
      "job wait",
      "flavor list",
      "OVH_AI_TRAINING_TOKEN",
      "Exit codes",
      "3  API",
    ]) {
      assert.ok(run.stdout.includes(text), text);
    }
  });

  test("--help aligns the descriptions of every global option, --version included", async () => {
    const run = await cli(["--help"]);
    const block = /Global options:\n((?: {2}--.*\n)+)/.exec(run.stdout)?.[1] ?? "";
    const columns = block
      .trimEnd()
      .split("\n")
      .map((line) => /^ {2}--\S+(?: [A-Z]+)? +/.exec(line)?.[0].length);
    assert.ok(block.includes("--version"), block);
    assert.equal(new Set(columns).size, 1, block);
  });

  test("every command has its own --help with its options and the exit codes", async () => {
    const expected: Record<string, string> = {
      "job submit": "--volume",
      "job get": "JOB_ID",
      "job list": "--label",
      "job wait": "--target",
      "job logs": "--follow",
      "job stop": "INTERRUPTED",
      "job delete": "--force",
      "flavor list": "flavors",
      me: "role",
    };
    for (const [command, word] of Object.entries(expected)) {
      const run = await cli([...command.split(" "), "--help"]);
      assert.equal(run.code, 0, command);
      assert.ok(run.stdout.includes(word), `${command} --help mentions ${word}`);
      assert.ok(run.stdout.includes("Exit codes"), command);
    }
  });

  test("no command, or an unknown one, is bad usage (exit 2) pointing at --help", async () => {
    assert.equal((await cli([])).code, 2);
    const run = await cli(["job", "launch"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown command "job launch".*submit/);
  });
});

describe("what each command loads", () => {
  /** Runs the command line with a module hook that lists every file it loads. */
  function loadedFiles(args: string[]): string[] {
    const dir = mkdtempSync(path.join(os.tmpdir(), "cli-loads-"));
    try {
      const hooks = path.join(dir, "hooks.mjs");
      writeFileSync(
        hooks,
        "export async function resolve(specifier, context, next) {\n" +
          "  const result = await next(specifier, context);\n" +
          '  if (result.url.startsWith("file:")) process.stderr.write("LOADED " + result.url + "\\n");\n' +
          "  return result;\n}\n",
      );
      const register = path.join(dir, "register.mjs");
      writeFileSync(
        register,
        `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
      );
      const result = spawnSync(process.execPath, ["--import", pathToFileURL(register).href, BIN, ...args], {
        encoding: "utf8",
        env: { ...process.env, OVH_AI_TRAINING_TOKEN: "t", OVH_AI_TRAINING_ENDPOINT: "http://127.0.0.1:1" },
      });
      return [...result.stderr.matchAll(/^LOADED (\S+)$/gm)].map((match) => match[1] as string);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("--version loads nothing but bin.js", () => {
    const files = loadedFiles(["--version"]);
    assert.deepEqual(
      files.map((file) => file.replace(/^.*\/packages\//, "")),
      ["cli/dist/src/bin.js"],
    );
  });

  test("job and account commands never load the emulator; the emulator command does", () => {
    for (const args of [["job", "get", "x"], ["me"], ["job", "submit", "--help"], ["flavor", "list"]]) {
      const files = loadedFiles(args);
      assert.ok(
        files.some((file) => file.includes("/cli/dist/src/main.js")),
        `${args.join(" ")} ran`,
      );
      assert.ok(
        !files.some((file) => file.includes("/packages/emulator/")),
        `${args.join(" ")} loaded the emulator`,
      );
    }
    assert.ok(loadedFiles(["emulator", "--help"]).some((file) => file.includes("/packages/emulator/")));
  });
});

describe("job submit", () => {
  test("every flag lands in the job's spec", async () => {
    const job = await submitted([
      "--image",
      "python:3.12",
      "--name",
      "cli-flags",
      "--flavor",
      "ai1-1-cpu",
      "--cpu",
      "2",
      "--env",
      "EPOCHS=3",
      "--env",
      "EXPR=a=b",
      "--label",
      "team=ml",
      "--label",
      "case=flags",
      "--volume",
      "inputs@GRA/datasets/v1:/workspace/data:ro:cache",
      "--volume",
      "outputs@GRA:/workspace/out:rw",
      "--ssh-key",
      "ssh-ed25519 AAAA test",
      "--http-port",
      "9000",
      "--timeout",
      "600",
      "--unsecure-http",
      ...sh("echo hi"),
    ]);
    const spec = (await client.getJob(job.id)).spec;
    assert.equal(spec.name, "cli-flags");
    assert.equal(spec.image, "python:3.12");
    assert.deepEqual(spec.command, ["sh", "-c", "echo hi"]);
    assert.equal(spec.resources?.flavor, "ai1-1-cpu");
    assert.equal(spec.resources?.cpu, 2);
    assert.deepEqual(spec.envVars, [
      { name: "EPOCHS", value: "3" },
      { name: "EXPR", value: "a=b" },
    ]);
    assert.equal(spec.labels?.team, "ml");
    assert.equal(spec.labels?.case, "flags");
    const [data, out] = spec.volumes ?? [];
    assert.deepEqual(data?.dataStore, { alias: "GRA", container: "inputs", prefix: "datasets/v1" });
    assert.equal(data?.mountPath, "/workspace/data");
    assert.equal(data?.permission, "RO");
    assert.equal(data?.cache, true);
    assert.equal(out?.permission, "RW");
    assert.equal(out?.cache, false);
    assert.deepEqual(spec.sshPublicKeys, ["ssh-ed25519 AAAA test"]);
    assert.equal(spec.defaultHttpPort, 9000);
    assert.equal(spec.timeout, 600);
    assert.equal(spec.unsecureHttp, true);
  });

  test("a mounted volume holds the container's files inside the job", async () => {
    const container = path.join(emulator.dataDir, "object-storage", "GRA", "cli-data");
    mkdirSync(container, { recursive: true });
    writeFileSync(path.join(container, "x.txt"), "from the container\n");
    const run = await cli([
      "job",
      "submit",
      "--image",
      "python:3.12",
      "--volume",
      "cli-data@GRA:/workspace/in",
      "--wait",
      "--interval",
      "1",
      ...sh("cat /workspace/in/x.txt"),
    ]);
    assert.equal(run.code, 0, run.stderr);
    const id = /Submitted job (\S+?)[.\s]/.exec(run.stdout)?.[1] as string;
    assert.equal(await client.getJobLogs(id), "from the container\n");
  });

  test("--wait shows state changes and exits 0 when the job is DONE", async () => {
    const run = await cli([
      "job",
      "submit",
      "--image",
      "python:3.12",
      "--wait",
      "--interval",
      "1",
      ...sh("echo ok"),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Submitted job \S+/);
    assert.match(run.stdout, /\d\d:\d\d:\d\d {2}DONE +\+\d+\.\ds/);
    assert.match(run.stdout, /is DONE \(exit code 0\)/);
  });

  test("--wait shows every state the job went through, once each, in order, with its own time", async () => {
    // The default interval (2 s) is longer than this whole job: only its history can show each state.
    const run = await cli(["job", "submit", "--image", "python:3.12", "--wait", ...sh("echo quick")]);
    assert.equal(run.code, 0, run.stderr);
    const id = /Submitted job (\S+?)[.\s]/.exec(run.stdout)?.[1] as string;
    const history = (await client.getJob(id)).status.history;
    assert.ok(history.length >= 4, `a short job still goes QUEUED ... DONE: ${JSON.stringify(history)}`);
    const shown = [...run.stdout.matchAll(/^(\d\d:\d\d:\d\d) {2}(\S+) +\+\d/gm)];
    assert.deepEqual(
      shown.map((line) => line[2]),
      history.map((entry) => entry.state),
    );
    assert.deepEqual(
      shown.map((line) => line[1]),
      history.map((entry) => new Date(entry.date).toTimeString().slice(0, 8)),
    );
  });

  test("--wait --output json prints the final job as JSON on stdout and the progress on stderr", async () => {
    const run = await cli([
      "job",
      "submit",
      "--image",
      "python:3.12",
      "--wait",
      "--interval",
      "1",
      "--output",
      "json",
      ...sh("true"),
    ]);
    assert.equal(run.code, 0, run.stderr);
    const job = JSON.parse(run.stdout) as Job;
    assert.equal(job.status.state, "DONE");
    assert.match(run.stderr, /DONE +\+\d+\.\ds/);
  });

  test("--wait exits 1 when the job fails, with its exit code and what to do next", async () => {
    const run = await cli([
      "job",
      "submit",
      "--image",
      "python:3.12",
      "--wait",
      "--interval",
      "1",
      ...sh("exit 3"),
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /ended in state FAILED with exit code 3/);
    assert.match(run.stderr, /next: read its logs to see why: ai-training job logs \S+ --tail 100/);
    // The command line names its own commands, never the TypeScript client's calls.
    assert.doesNotMatch(run.stderr, /getJobLogs|stopJob|\w+\("/);
  });

  test("--gpu-model picks the flavor carrying that model", async () => {
    const job = await submitted([
      "--image",
      "python:3.12",
      "--gpu-model",
      "V100S",
      "--gpu",
      "1",
      ...sh("true"),
    ]);
    assert.equal(job.spec.resources?.flavor, "ai1-1-gpu");
    assert.equal(job.spec.resources?.gpu, 1);
  });

  test("an unknown --gpu-model, or one the --flavor lacks, is exit 2 listing the valid models", async () => {
    let run = await cli(["job", "submit", "--image", "python:3.12", "--gpu-model", "K80"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /gpuModel: "K80" is not offered by any flavor \(allowed: .*V100S.*\)/);
    run = await cli([
      "job",
      "submit",
      "--image",
      "python:3.12",
      "--gpu-model",
      "A100",
      "--flavor",
      "ai1-1-gpu",
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /does not match flavor ai1-1-gpu/);
  });

  test("bad input is exit 2, names the problem, and submits nothing", async () => {
    const before = (await client.listJobs({ size: 1000 })).items.length;
    const cases: Array<[string[], RegExp]> = [
      [[], /--image is required/],
      [["--image", "i", "--volume", "nope"], /--volume "nope".*CONTAINER@ALIAS/],
      [["--image", "i", "--volume", "c@A:relative"], /mount path must be absolute/],
      [["--image", "i", "--volume", "c@A:/d:rx"], /allowed: ro, rw, rwd, cache/],
      [["--image", "i", "--env", "NOVALUE"], /--env takes KEY=VALUE/],
      [["--image", "i", "--env", "BAD-NAME=1"], /not a valid environment variable name/],
      [["--image", "i", "--label", "ovh/x=1"], /must not start with ovh\//],
      [["--image", "i", "--timeout", "0"], /timeout: must be a positive whole number/],
      [["--image", "i", "--gpu", "two"], /--gpu must be a whole number/],
      [["--image", "i", "--frobnicate"], /unknown option --frobnicate/],
      [["--image", "i", "--output", "yaml"], /allowed: table, json/],
      [["--image", "i", "python"], /put the command after --/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(["job", "submit", ...args]);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(" "));
    }
    assert.equal((await client.listJobs({ size: 1000 })).items.length, before);
  });
});

describe("reading jobs", () => {
  const batch = `cli-${Date.now()}`;
  let done: Job;
  let failed: Job;

  before(async () => {
    done = await submitted([
      "--image",
      "python:3.12",
      "--label",
      `batch=${batch}`,
      ...sh("echo first; echo second; echo third"),
    ]);
    failed = await submitted([
      "--image",
      "python:3.12",
      "--label",
      `batch=${batch}`,
      ...sh("echo bad; exit 4"),
    ]);
    await client.waitForJob(done.id, { interval: 50 });
    await assert.rejects(client.waitForJob(failed.id, { interval: 50 }));
  });

  test("job get shows the job as a table or as JSON", async () => {
    let run = await cli(["job", "get", done.id]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`id: +${done.id}`));
    assert.match(run.stdout, /state: +DONE/);
    assert.match(run.stdout, /STATE +DATE/);
    run = await cli(["job", "get", failed.id, "--output", "json"]);
    const job = JSON.parse(run.stdout) as Job;
    assert.equal(job.status.state, "FAILED");
    assert.equal(job.status.exitCode, 4);
  });

  test("job list filters by label and state, as a table or JSON", async () => {
    let run = await cli(["job", "list", "--label", `batch=${batch}`, "--output", "json"]);
    assert.equal(run.code, 0, run.stderr);
    const ids = (JSON.parse(run.stdout) as Job[]).map((job) => job.id).sort();
    assert.deepEqual(ids, [done.id, failed.id].sort());
    run = await cli(["job", "list", "--label", `batch=${batch}`, "--state", "FAILED"]);
    assert.match(run.stdout, /^ID +NAME +STATE +IMAGE +CREATED/);
    assert.ok(run.stdout.includes(failed.id));
    assert.ok(!run.stdout.includes(done.id));
    run = await cli(["job", "list", "--label", `batch=${batch}`, "--all", "--size", "1", "--output", "json"]);
    assert.equal((JSON.parse(run.stdout) as Job[]).length, 2);
    run = await cli(["job", "list", "--label", `batch=none-${batch}`]);
    assert.match(run.stdout, /No jobs match/);
  });

  test("job wait exits 0 on DONE and 1 on FAILED", async () => {
    let run = await cli(["job", "wait", done.id, "--interval", "1"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /DONE/);
    run = await cli(["job", "wait", failed.id, "--interval", "1"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`Job ${failed.id} ended in state FAILED with exit code 4`));
  });

  test("an unknown state in --target, --failure or --state is exit 2 listing the states, nothing sent", async () => {
    // Nothing listens on port 1: had anything been sent, the answer would be exit 3.
    const offline = { OVH_AI_TRAINING_ENDPOINT: "http://127.0.0.1:1" };
    const cases: Array<[string[], string]> = [
      [["job", "wait", done.id, "--target", "BOGUS"], "--target"],
      [["job", "wait", done.id, "--failure", "FAILED,nope"], "--failure"],
      [["job", "list", "--state", "BOGUS"], "--state"],
      [["job", "list", "--state", "running", "--state", "RUNING"], "--state"],
    ];
    for (const [args, flag] of cases) {
      const run = await cli(args, offline);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`${flag} "[A-Z]+" is not a job state \\(allowed: QUEUED, .*DONE`));
      assert.doesNotMatch(run.stderr, /Could not reach/);
    }
    // Lower case is a known state: the same job list reaches the server.
    const run = await cli([
      "job",
      "list",
      "--state",
      "done",
      "--label",
      `batch=${batch}`,
      "--output",
      "json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      (JSON.parse(run.stdout) as Job[]).map((job) => job.id),
      [done.id],
    );
  });

  test("--interval takes fractions of a second; zero, negative or not a number is exit 2", async () => {
    const run = await cli(["job", "wait", done.id, "--interval", "0.2"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /is DONE/);
    const cases: Array<[string, RegExp]> = [
      ["0", /--interval must be a positive number of seconds, got 0/],
      ["-1", /--interval must be a positive number of seconds, got -1/],
      ["abc", /--interval must be a number, e\.g\. 0\.5 or 2, got "abc"/],
      ["0.2s", /--interval must be a number/],
    ];
    for (const [value, message] of cases) {
      const bad = await cli(["job", "wait", done.id, "--interval", value]);
      assert.equal(bad.code, 2, `${value}: ${bad.stderr}`);
      assert.match(bad.stderr, message);
    }
  });

  test("job logs prints the output, the last lines with --tail, JSON lines with --output json", async () => {
    let run = await cli(["job", "logs", done.id]);
    assert.equal(run.stdout, "first\nsecond\nthird\n");
    run = await cli(["job", "logs", done.id, "--tail", "2"]);
    assert.equal(run.stdout, "second\nthird\n");
    run = await cli(["job", "logs", done.id, "--tail", "1", "--output", "json"]);
    assert.deepEqual(JSON.parse(run.stdout), { line: "third" });
  });

  test("job logs --follow prints lines until the job ends", async () => {
    const job = await submitted([
      "--image",
      "python:3.12",
      ...sh("for i in 1 2 3; do echo tick$i; sleep 0.2; done"),
    ]);
    const run = await cli(["job", "logs", job.id, "--follow"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "tick1\ntick2\ntick3\n");
  });

  test("an unknown job is exit 3 with the job id and what to check", async () => {
    const run = await cli(["job", "get", "no-such-job"]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /no-such-job/);
    assert.match(run.stderr, /Check the job id/);
    assert.match(run.stderr, /next: Find the job's id with `ai-training job list --all`/);
  });
});

describe("stop and delete", () => {
  test("job stop interrupts a running job; job wait --target INTERRUPTED then succeeds", async () => {
    const job = await submitted(["--image", "python:3.12", ...sh("sleep 30")]);
    await client.waitForJob(job.id, { interval: 50, targetStates: ["RUNNING"] });
    let run = await cli(["job", "stop", job.id]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Asked job \S+ to stop/);
    run = await cli(["job", "wait", job.id, "--target", "INTERRUPTED", "--interval", "1"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /is INTERRUPTED/);
  });

  test("job stop on a job that already ended says so and leaves it as it was", async () => {
    const job = await submitted(["--image", "python:3.12", ...sh("true")]);
    await client.waitForJob(job.id, { interval: 50 });
    let run = await cli(["job", "stop", job.id]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), `Job ${job.id} is already DONE; nothing to stop.`);
    assert.doesNotMatch(run.stdout, /INTERRUPT/);
    run = await cli(["job", "stop", job.id, "--output", "json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { id: job.id, stopped: false, state: "DONE" });
    assert.equal((await client.getJob(job.id)).status.state, "DONE");
  });

  test("job wait --timeout gives up with the last state, exit 1", async () => {
    const job = await submitted(["--image", "python:3.12", ...sh("sleep 30")]);
    const run = await cli(["job", "wait", job.id, "--timeout", "1", "--interval", "1"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /was still (QUEUED|INITIALIZING|PENDING|RUNNING) after waiting/);
    assert.match(run.stderr, new RegExp(`next: .*ai-training job stop ${job.id}`));
    assert.doesNotMatch(run.stderr, /stopJob|getJobLogs|\w+\("/);
    await client.deleteJob(job.id, { force: true });
  });

  test("job delete refuses an active job without --force (exit 3) and deletes it with --force", async () => {
    const job = await submitted(["--image", "python:3.12", ...sh("sleep 30")]);
    let run = await cli(["job", "delete", job.id]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, new RegExp(job.id));
    assert.match(run.stderr, new RegExp(`next: .*ai-training job delete ${job.id} --force`));
    run = await cli(["job", "delete", job.id, "--force", "--output", "json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { id: job.id, deleted: true });
    assert.equal((await cli(["job", "get", job.id])).code, 3);
  });
});

describe("start and label", () => {
  test("job start restarts an ended job, which runs again", async () => {
    const job = await submitted(["--image", "python:3.12", ...sh("echo run")]);
    await client.waitForJob(job.id, { interval: 50 });
    const run = await cli(["job", "start", job.id]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Restarted job/);
    const again = await client.waitForJob(job.id, { interval: 50 });
    assert.equal(again.status.history.filter((entry) => entry.state === "QUEUED").length, 2);
  });

  test("job label sets and removes a label; a platform key is exit 2", async () => {
    const job = await submitted(["--image", "python:3.12", ...sh("true")]);
    let run = await cli(["job", "label", job.id, "stage=eval"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await client.getJob(job.id)).spec.labels?.stage, "eval");
    run = await cli(["job", "label", job.id, "stage", "--remove"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await client.getJob(job.id)).spec.labels?.stage, undefined);
    run = await cli(["job", "label", job.id, "ovh/owner=me"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /ovh\//);
  });
});

describe("flavors, me, connection settings", () => {
  test("flavor list shows the catalogue with GPU models", async () => {
    let run = await cli(["flavor", "list"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /ai1-1-gpu +gpu +V100S/);
    run = await cli(["flavor", "list", "--output", "json"]);
    assert.ok((JSON.parse(run.stdout) as Array<{ id: string }>).some((flavor) => flavor.id === "h100-1-gpu"));
  });

  test("me shows the token's role; --token and --endpoint flags win over the environment", async () => {
    let run = await cli(["me"]);
    assert.match(run.stdout, /role: +operator/);
    run = await cli(["me", "--output", "json", "--token", emulator.readToken, "--endpoint", emulator.url], {
      OVH_AI_TRAINING_ENDPOINT: "http://127.0.0.1:1",
      OVH_AI_TRAINING_TOKEN: undefined,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { role: string }).role, "read");
  });

  test("a read token may not submit: exit 3 saying an operator token is needed", async () => {
    const run = await cli(["job", "submit", "--image", "python:3.12"], {
      OVH_AI_TRAINING_TOKEN: emulator.readToken,
    });
    assert.equal(run.code, 3);
    assert.match(run.stderr, /operator token/);
  });

  test("a wrong token is exit 3 and never printed", async () => {
    const wrong = "wrong-cli-token-9d8c7b6a";
    secrets.add(wrong);
    for (const args of [["me"], ["job", "list"], ["job", "get", "x"], ["job", "submit", "--image", "i"]]) {
      const run = await cli([...args, "--token", wrong]);
      assert.equal(run.code, 3, args.join(" "));
      assert.match(run.stderr, /401/);
      assert.match(run.stderr, /Check the token/);
    }
  });

  test("a missing token is exit 2 naming OVH_AI_TRAINING_TOKEN", async () => {
    const run = await cli(["me"], { OVH_AI_TRAINING_TOKEN: undefined });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /OVH_AI_TRAINING_TOKEN/);
  });

  test("an unknown region is exit 2 listing gra and bhs", async () => {
    const run = await cli(["me", "--region", "mars"], { OVH_AI_TRAINING_ENDPOINT: undefined });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /allowed: gra, bhs/);
  });

  test("an unknown region is exit 2 even with an endpoint, saying --endpoint sets the URL", async () => {
    let run = await cli(["job", "list", "--region", "xyz"]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--region "xyz" is not a region \(allowed: gra, bhs\)/);
    assert.match(run.stderr, /--endpoint .*sets the URL/);
    run = await cli(["job", "list"], { OVH_AI_TRAINING_REGION: "xyz" });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /OVH_AI_TRAINING_REGION "xyz" is not a region \(allowed: gra, bhs\)/);
    run = await cli(["job", "list", "--region", "BHS"]);
    assert.equal(run.code, 0, run.stderr);
  });

  test("an endpoint holding /v1 is exit 2 naming the base URL; another path gets a 404 hint about it", async () => {
    let run = await cli(["job", "get", "some-job", "--endpoint", `${emulator.url}/v1`]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /without \/v1/);
    assert.ok(run.stderr.includes(`use ${emulator.url}.`), run.stderr);
    assert.doesNotMatch(run.stderr, /Find the job's id/);
    run = await cli(["job", "get", "some-job"], { OVH_AI_TRAINING_ENDPOINT: `${emulator.url}/v1/` });
    assert.equal(run.code, 2, run.stderr);
    run = await cli(["job", "get", "some-job", "--endpoint", `${emulator.url}/api`]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      /next: the endpoint \S+\/api has a path \(\/api\); --endpoint .* must be the API's base URL/,
    );
    assert.ok(run.stderr.includes(`e.g. ${emulator.url}.`), run.stderr);
  });

  test("a submit whose connection dropped after sending warns the job may exist and how to look", async () => {
    const specifier = "@ai-training/emulator/testing";
    const testing = (await import(specifier)) as { startEmulatorProcess(o: object): Promise<Emulator> };
    // Every connection is dropped once the request has arrived.
    const dropping = await testing.startEmulatorProcess({ faults: { dropRate: 1 }, stopGraceMs: 300 });
    secrets.add(dropping.token);
    try {
      const run = await cli(
        ["job", "submit", "--image", "python:3.12", "--label", "run=r42", ...sh("true")],
        {
          OVH_AI_TRAINING_ENDPOINT: dropping.url,
          OVH_AI_TRAINING_TOKEN: dropping.token,
        },
      );
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /Could not reach \S+ for POST \/v1\/job/);
      assert.match(run.stderr, /the job may have been created/);
      assert.match(
        run.stderr,
        /next: check with `ai-training job list --label run=r42` .*before submitting again/,
      );
      assert.doesNotMatch(run.stderr, /listJobs|\w+\(/);
    } finally {
      await dropping.stop();
    }
  });

  test("an unreachable endpoint is exit 3 naming the endpoint", async () => {
    const run = await cli(["me"], { OVH_AI_TRAINING_ENDPOINT: "http://127.0.0.1:1" });
    assert.equal(run.code, 3);
    assert.match(run.stderr, /Could not reach http:\/\/127\.0\.0\.1:1/);
  });
});

describe("emulator and data subcommands", () => {
  test("ai-training emulator --help and data --help come from the emulator package", async () => {
    let run = await cli(["emulator", "--help"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout + run.stderr, /listening on/);
    run = await cli(["data", "--help"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout + run.stderr, /ai-training data upload/);
  });

  test("ai-training emulator serves the API until SIGTERM, and the job commands talk to it", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "cli-emulator-"));
    const token = `cli-emulator-${process.pid}`;
    secrets.add(token);
    const child = spawn(
      process.execPath,
      [BIN, "emulator", "--port", "0", "--data-dir", dataDir, "--token", token],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          out += chunk;
          const match = /listening on (http:\/\/\S+)/.exec(out);
          if (match?.[1]) resolve(match[1]);
        });
        void exited.then((code) => reject(new Error(`ai-training emulator exited ${code} before listening`)));
      });
      const run = await cli(["me", "--output", "json"], {
        OVH_AI_TRAINING_ENDPOINT: url,
        OVH_AI_TRAINING_TOKEN: token,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal((JSON.parse(run.stdout) as { role: string }).role, "operator");
    } finally {
      child.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
    assert.equal(child.exitCode, 0);
  });

  test("ai-training data list reads the emulator's Object Storage", async () => {
    const container = path.join(emulator.dataDir, "object-storage", "GRA", "listed");
    mkdirSync(container, { recursive: true });
    writeFileSync(path.join(container, "model.bin"), "weights");
    const run = await cli(["data", "list", "GRA", "listed", "--data-dir", emulator.dataDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /model\.bin/);
  });
});
