/**
 * The runtime's processes, driven directly (no HTTP crosses here): output, environment, start failures,
 * stop, orphans, the mount namespace and its volumes. Runs as root on Linux, where `unshare` works.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import type { JobSpec } from "@ai-training/client";
import {
  createRuntime,
  type HostRuntime,
  JobStartError,
  type PreparedVolume,
  type RuntimeJob,
} from "../src/runtime/index.js";

const root = mkdtempSync(path.join(tmpdir(), "runtime-process-"));
after(() => rmSync(root, { recursive: true, force: true }));

let jobCount = 0;
function makeJob(spec: Partial<JobSpec>): RuntimeJob {
  jobCount += 1;
  const id = `job-${jobCount}`;
  return { id, jobDir: path.join(root, "jobs", id), spec: { image: "test/image", ...spec } as JobSpec };
}

interface Line {
  line: string;
  stream: "stdout" | "stderr";
}

/** Runs a job to its end and returns its exit and every output line. */
async function run(runtime: HostRuntime, job: RuntimeJob, volumes: PreparedVolume[] = []) {
  const lines: Line[] = [];
  const running = await runtime.startProcess(job, volumes, (line, stream) => lines.push({ line, stream }));
  const exit = await running.exited;
  return { exit, lines, stdout: lines.filter((l) => l.stream === "stdout").map((l) => l.line) };
}

/** Resolves once `predicate` holds for a line delivered to the returned `onOutput`. */
function lineWatcher() {
  const lines: string[] = [];
  const waiters: Array<{ predicate: (line: string) => boolean; resolve: (line: string) => void }> = [];
  return {
    lines,
    onOutput(line: string) {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    },
    waitFor(predicate: (line: string) => boolean): Promise<string> {
      const seen = lines.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
  };
}

/** True when `pid` no longer runs (gone, or a zombie waiting for its reaper). */
function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

const runtime = createRuntime({ dataDir: path.join(root, "data"), graceMs: 5000 });
after(() => runtime.stopAll(0));

describe("runtime processes", () => {
  test("the mount namespace is available on this machine (root with unshare)", async () => {
    assert.equal(await runtime.isolation(), "unshare");
  });

  test("stdout lines arrive in the order written, a last line without newline included", async () => {
    const job = makeJob({
      command: ["/bin/sh", "-c", 'for i in 1 2 3 4 5; do echo "line $i"; done; printf "tail"'],
    });
    const { exit, stdout } = await run(runtime, job);
    assert.deepEqual(exit, { exitCode: 0, signal: null });
    assert.deepEqual(stdout, ["line 1", "line 2", "line 3", "line 4", "line 5", "tail"]);
  });

  test("stdout and stderr lines are delivered as they are written, each tagged with its stream", async () => {
    // The job waits for the runtime to deliver each line before writing the next (the test answers by
    // creating a file), so the order proven here does not depend on timing.
    const gate = path.join(root, "gate");
    mkdirSync(gate, { recursive: true });
    const script =
      'echo out-1; while [ ! -e "$1/a" ]; do sleep 0.01; done; echo err-1 >&2; ' +
      'while [ ! -e "$1/b" ]; do sleep 0.01; done; echo out-2; exit 4';
    const lines: Line[] = [];
    const running = await runtime.startProcess(
      makeJob({ command: ["/bin/sh", "-c", script, "sh", gate] }),
      [],
      (line, stream) => {
        lines.push({ line, stream });
        if (line === "out-1") writeFileSync(path.join(gate, "a"), "");
        if (line === "err-1") writeFileSync(path.join(gate, "b"), "");
      },
    );
    const exit = await running.exited;
    assert.equal(exit.exitCode, 4);
    assert.deepEqual(lines, [
      { line: "out-1", stream: "stdout" },
      { line: "err-1", stream: "stderr" },
      { line: "out-2", stream: "stdout" },
    ]);
  });

  test("envVars reach the job on a base env, and the emulator's own secrets do not", async () => {
    process.env.OVH_AI_TRAINING_TOKEN = "emulator-secret-token";
    try {
      const job = makeJob({
        command: ["/bin/sh", "-c", "env"],
        envVars: [
          { name: "BATCH_SIZE", value: "32" },
          { name: "GREETING", value: "hello world; $(not run)" },
        ],
      });
      const { stdout } = await run(runtime, job);
      assert.ok(stdout.includes("BATCH_SIZE=32"), stdout.join("\n"));
      assert.ok(stdout.includes("GREETING=hello world; $(not run)"));
      assert.ok(stdout.includes("PYTHONUNBUFFERED=1"));
      assert.ok(stdout.includes(`HOME=${path.join(job.jobDir, "home")}`));
      assert.ok(stdout.some((l) => l.startsWith("PATH=")));
      assert.ok(!stdout.some((l) => l.includes("emulator-secret-token")));
    } finally {
      delete process.env.OVH_AI_TRAINING_TOKEN;
    }
  });

  test("envVars named like the wrapper's own shell variables reach the command unchanged", async () => {
    const names = ["n", "c", "src", "dst", "work", "mode", "jobpath", "IFS_BACKUP"];
    const job = makeJob({
      command: ["/bin/sh", "-c", 'for v in "$@"; do eval "echo $v=\\$$v"; done', "sh", ...names],
      envVars: names.map((name) => ({ name, value: `kept-${name}` })),
    });
    const runtimeWithVolume = await runtime.pullVolumes({
      ...job,
      spec: { ...job.spec, volumes: [{ mountPath: "/workspace/v", standalone: {} }] },
    });
    const lines: string[] = [];
    const running = await runtime.startProcess(job, runtimeWithVolume, (line) => lines.push(line));
    assert.equal((await running.exited).exitCode, 0, lines.join("\n"));
    assert.deepEqual(
      lines,
      names.map((name) => `${name}=kept-${name}`),
    );
  });

  test("a command starting with python runs python3 on a PATH that only has python3", async () => {
    const onlyPython3 = path.join(root, "only-python3");
    mkdirSync(onlyPython3, { recursive: true });
    const realPython3 = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], {
      encoding: "utf8",
    });
    symlinkSync(realPython3.trim(), path.join(onlyPython3, "python3"));
    const job = makeJob({
      command: ["python", "-c", "import sys; print('major', sys.version_info[0])"],
      envVars: [{ name: "PATH", value: onlyPython3 }],
    });
    const { exit, stdout } = await run(runtime, job);
    assert.equal(exit.exitCode, 0, stdout.join("\n"));
    assert.deepEqual(stdout, ["major 3"]);
  });

  test("a missing program is a JobStartError that names it and says what to do", async () => {
    const job = makeJob({ command: ["no-such-program-xyz", "--flag"] });
    await assert.rejects(
      runtime.startProcess(job, [], () => undefined),
      (error: Error) => {
        assert.ok(error instanceof JobStartError);
        assert.match(error.message, /Job job-\d+ cannot start/);
        assert.match(error.message, /"no-such-program-xyz" was not found/);
        assert.match(error.message, /install the program/);
        return true;
      },
    );
  });

  test("a file that is not executable is a JobStartError that says to chmod it", async () => {
    const image = path.join(root, "image-noexec");
    mkdirSync(image, { recursive: true });
    writeFileSync(path.join(image, "run.sh"), "echo hi\n", { mode: 0o644 });
    const imageRuntime = createRuntime({
      dataDir: path.join(root, "data"),
      images: { "noexec/image": image },
    });
    const job = makeJob({ image: "noexec/image", command: ["./run.sh"] });
    await assert.rejects(
      imageRuntime.startProcess(job, [], () => undefined),
      (error: Error) => {
        assert.ok(error instanceof JobStartError);
        assert.match(error.message, /"\.\/run\.sh" exists but is not an executable file/);
        assert.match(error.message, /chmod \+x/);
        return true;
      },
    );
  });

  test("a NUL character in the command or env is a JobStartError naming the field", async () => {
    await assert.rejects(
      runtime.startProcess(makeJob({ command: ["echo", "a\0b"] }), [], () => undefined),
      /its command contains a NUL character/,
    );
    const env = makeJob({ command: ["true"], envVars: [{ name: "X", value: "a\0b" }] });
    await assert.rejects(
      runtime.startProcess(env, [], () => undefined),
      /its envVars contains a NUL character/,
    );
  });

  test("a job with no command and an unknown image logs one line and exits 0", async () => {
    const { exit, lines } = await run(runtime, makeJob({ image: "someone/unknown:1.0" }));
    assert.deepEqual(exit, { exitCode: 0, signal: null });
    assert.equal(lines.length, 1);
    assert.match(lines[0]?.line ?? "", /does not know the default command of image "someone\/unknown:1\.0"/);
  });

  test("the image folder's files appear in /workspace, the job's working directory", async () => {
    const image = path.join(root, "image-files");
    mkdirSync(path.join(image, "src"), { recursive: true });
    writeFileSync(path.join(image, "src", "train.py"), "print('trained')\n");
    const imageRuntime = createRuntime({
      dataDir: path.join(root, "data"),
      images: { "files/image": image },
    });
    const job = makeJob({
      image: "files/image",
      command: ["/bin/sh", "-c", "pwd; python3 src/train.py; touch made"],
    });
    const { exit, stdout } = await run(imageRuntime, job);
    assert.equal(exit.exitCode, 0, stdout.join("\n"));
    assert.deepEqual(stdout, ["/workspace", "trained"]);
    assert.ok(
      existsSync(path.join(job.jobDir, "workspace", "made")),
      "a file written in /workspace is the job's",
    );
    assert.ok(!existsSync("/workspace/made"), "nothing written in /workspace reaches the host's /workspace");
  });

  test("stop sends SIGTERM to the job, which may end on its own terms", async () => {
    const watcher = lineWatcher();
    const job = makeJob({
      command: [
        "/bin/sh",
        "-c",
        "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done",
      ],
    });
    const running = await runtime.startProcess(job, [], watcher.onOutput);
    await watcher.waitFor((l) => l === "ready");
    const exit = await running.stop(60_000);
    assert.deepEqual(exit, { exitCode: 3, signal: null });
    assert.ok(watcher.lines.includes("got-term"));
  });

  test("stop sends SIGKILL after the grace period to a job that ignores SIGTERM", async () => {
    const watcher = lineWatcher();
    const job = makeJob({
      command: ["/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"],
    });
    const running = await runtime.startProcess(job, [], watcher.onOutput);
    await watcher.waitFor((l) => l === "ready");
    const exit = await running.stop(200);
    assert.deepEqual(exit, { exitCode: null, signal: "SIGKILL" });
    assert.deepEqual(await running.stop(200), exit, "stopping again answers the same exit");
  });

  test("stop leaves no orphan: grandchildren in the job's process group end too", async () => {
    const watcher = lineWatcher();
    const job = makeJob({
      command: ["/bin/sh", "-c", "sleep 300 & echo child=$!; (sleep 300 & echo grandchild=$!; wait) & wait"],
    });
    const running = await runtime.startProcess(job, [], watcher.onOutput);
    const child = Number((await watcher.waitFor((l) => l.startsWith("child="))).slice(6));
    const grandchild = Number((await watcher.waitFor((l) => l.startsWith("grandchild="))).slice(11));
    assert.ok(!isGone(child) && !isGone(grandchild), "the job's children run before the stop");
    await running.stop(5000);
    assert.ok(isGone(child), `child ${child} still runs`);
    assert.ok(isGone(grandchild), `grandchild ${grandchild} still runs`);
  });

  test("what a job leaves running in the background ends when its main process exits", async () => {
    const { exit, stdout } = await run(
      runtime,
      makeJob({ command: ["/bin/sh", "-c", "sleep 300 & echo bg=$!; exit 0"] }),
    );
    assert.equal(exit.exitCode, 0);
    const background = Number(stdout.find((l) => l.startsWith("bg="))?.slice(3));
    assert.ok(background > 0);
    assert.ok(isGone(background), `background process ${background} outlived its job`);
  });

  test("stopAll stops every running job", async () => {
    const watchers = [lineWatcher(), lineWatcher()];
    const processes = await Promise.all(
      watchers.map((w) =>
        runtime.startProcess(
          makeJob({ command: ["/bin/sh", "-c", "echo ready; exec sleep 300"] }),
          [],
          w.onOutput,
        ),
      ),
    );
    await Promise.all(watchers.map((w) => w.waitFor((l) => l === "ready")));
    await runtime.stopAll(5000);
    for (const p of processes) assert.deepEqual(await p.exited, { exitCode: null, signal: "SIGTERM" });
  });

  test("killLeftovers kills a job's processes left behind by an emulator that was killed", async () => {
    const job = makeJob({ command: ["/bin/sh", "-c", "sleep 300 & echo bg=$!; exec sleep 301"] });
    const runtimeModule = new URL("../src/runtime/index.js", import.meta.url).href;
    // A separate emulator-like process starts the job, reports the pids, then is SIGKILLed: no cleanup runs.
    const script = `
      const { createRuntime } = await import(${JSON.stringify(runtimeModule)});
      const runtime = createRuntime({ dataDir: ${JSON.stringify(path.join(root, "data"))} });
      const job = ${JSON.stringify(job)};
      const running = await runtime.startProcess(job, [], (line) => console.log(line));
      console.log("main=" + running.pid);
    `;
    const emulator = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pids = await new Promise<number[]>((resolve) => {
      let text = "";
      emulator.stdout.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        const main = /main=(\d+)/.exec(text);
        const background = /bg=(\d+)/.exec(text);
        if (main && background) resolve([Number(main[1]), Number(background[1])]);
      });
    });
    emulator.kill("SIGKILL");
    await new Promise((resolve) => emulator.once("exit", resolve));
    assert.ok(
      pids.every((pid) => !isGone(pid)),
      "the job outlived its emulator, as after a crash",
    );

    assert.equal(await runtime.killLeftovers(job), true);
    // SIGKILL is asynchronous: poll (bounded) until the kernel has ended both.
    for (let tries = 0; tries < 100 && !pids.every(isGone); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const pid of pids) assert.ok(isGone(pid), `process ${pid} was left running`);
    assert.equal(await runtime.killLeftovers(job), false, "the record is used once");
  });
});

function bwrapWorks(): boolean {
  try {
    execFileSync("bwrap", ["--dev-bind", "/", "/", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("runtime processes under bubblewrap", {
  skip: bwrapWorks() ? false : "bwrap is not installed",
}, () => {
  const bwrap = createRuntime({ dataDir: path.join(root, "data-bwrap"), isolation: "bwrap" });
  after(() => bwrap.stopAll(0));

  test("a job runs in /workspace and its output arrives in order", async () => {
    const { exit, stdout } = await run(bwrap, makeJob({ command: ["/bin/sh", "-c", "pwd; echo a; echo b"] }));
    assert.equal(exit.exitCode, 0);
    assert.deepEqual(stdout, ["/workspace", "a", "b"]);
  });

  test("a missing program is a JobStartError", async () => {
    await assert.rejects(
      bwrap.startProcess(makeJob({ command: ["no-such-program-xyz"] }), [], () => undefined),
      /not found/,
    );
  });

  test("stop reaches the job through bwrap: SIGKILL after grace, no grandchild left", async () => {
    const watcher = lineWatcher();
    const job = makeJob({
      command: ["/bin/sh", "-c", "trap '' TERM; sleep 300 & echo child=$!; while :; do sleep 0.05; done"],
    });
    const running = await bwrap.startProcess(job, [], watcher.onOutput);
    const child = Number((await watcher.waitFor((l) => l.startsWith("child="))).slice(6));
    const exit = await running.stop(200);
    assert.notEqual(exit.exitCode, 0);
    assert.ok(isGone(child), `child ${child} still runs`);
  });
});
