/**
 * The runtime's volumes, driven directly: Object Storage on disk copied into volumes and written back,
 * prefixes, caches, both volume forms, and volumes mounted inside a job (RO really read-only, paths with
 * shell metacharacters taken literally). Runs as root on Linux, where `unshare` works.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, beforeEach, describe, test } from "node:test";
import type { JobSpec, Volume } from "@ai-training/client";
import {
  createRuntime,
  DataSyncError,
  type HostRuntime,
  type IsolationMethod,
  JobStartError,
  type PreparedVolume,
  type RuntimeJob,
  type SyncProgress,
} from "../src/runtime/index.js";

const root = mkdtempSync(path.join(tmpdir(), "runtime-volumes-"));
after(() => rmSync(root, { recursive: true, force: true }));

let dataDir = "";
let runtime: HostRuntime;
let jobCount = 0;

after(() => runtime?.stopAll(0));

/** bubblewrap is an alternative to unshare; its tests run where it is installed and works. */
function bwrapWorks(): boolean {
  try {
    execFileSync("bwrap", ["--dev-bind", "/", "/", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const methods: IsolationMethod[] = bwrapWorks() ? ["unshare", "bwrap"] : ["unshare"];

function makeJob(volumes: Volume[], command: string[] = ["true"]): RuntimeJob {
  jobCount += 1;
  const id = `job-${jobCount}`;
  return {
    id,
    jobDir: path.join(root, "jobs", id),
    spec: { image: "test/image", command, volumes } as JobSpec,
  };
}

/** Writes objects (name -> content) into container ALIAS/CONTAINER of the current data folder. */
function putObjects(alias: string, container: string, objects: Record<string, string>): void {
  for (const [name, content] of Object.entries(objects)) {
    const file = path.join(dataDir, "object-storage", alias, container, ...name.split("/"));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/** Every object of a container as name -> content, names sorted. */
function objectsOf(alias: string, container: string): Record<string, string> {
  const base = path.join(dataDir, "object-storage", alias, container);
  const found: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path.join(dir, entry.name), name);
      else found[name] = readFileSync(path.join(dir, entry.name), "utf8");
    }
  };
  walk(base, "");
  return found;
}

async function runJob(job: RuntimeJob, volumes: PreparedVolume[]) {
  const lines: string[] = [];
  const running = await runtime.startProcess(job, volumes, (line) => lines.push(line));
  return { exit: await running.exited, lines };
}

/** Pulls, runs, pushes and cleans up, the way the engine does. */
async function lifecycle(job: RuntimeJob) {
  const volumes = await runtime.pullVolumes(job);
  const result = await runJob(job, volumes);
  await runtime.pushVolumes(job, volumes);
  await runtime.cleanup(job, volumes);
  return { ...result, volumes };
}

const sh = (script: string) => ["/bin/sh", "-c", script];

for (const method of methods)
  describe(`runtime volumes (${method})`, () => {
    beforeEach(() => {
      jobCount += 1;
      dataDir = path.join(root, `data-${jobCount}`);
      runtime = createRuntime({ dataDir, isolation: method });
    });

    test("an RO volume shows the container's objects and a write to it fails inside the job", async () => {
      putObjects("GRA", "inputs", { "train.csv": "a,b\n1,2\n" });
      const job = makeJob(
        [
          {
            mountPath: "/workspace/data",
            permission: "RO",
            dataStore: { alias: "GRA", container: "inputs" },
          },
        ],
        sh("cat /workspace/data/train.csv; echo changed > /workspace/data/train.csv && echo WROTE"),
      );
      const { exit, lines } = await lifecycle(job);
      assert.notEqual(exit.exitCode, 0);
      assert.ok(lines.includes("1,2"), lines.join("\n"));
      assert.ok(!lines.includes("WROTE"));
      assert.ok(
        lines.some((l) => /read-only file system/i.test(l)),
        lines.join("\n"),
      );
      assert.deepEqual(objectsOf("GRA", "inputs"), { "train.csv": "a,b\n1,2\n" });
    });

    test("an RO volume is never written back, even when its host folder changed", async () => {
      putObjects("GRA", "inputs", { "a.txt": "A" });
      const job = makeJob([
        { mountPath: "/workspace/data", permission: "RO", dataStore: { alias: "GRA", container: "inputs" } },
      ]);
      const volumes = await runtime.pullVolumes(job);
      writeFileSync(path.join(volumes[0]?.hostPath ?? "", "extra.txt"), "x");
      await runtime.pushVolumes(job, volumes);
      assert.deepEqual(objectsOf("GRA", "inputs"), { "a.txt": "A" });
    });

    test("an RW volume writes adds and changes back, and no deletions", async () => {
      putObjects("GRA", "outputs", { "keep.txt": "old", "gone.txt": "still here", "dir/nested.txt": "n" });
      const job = makeJob(
        [
          {
            mountPath: "/workspace/out",
            permission: "RW",
            dataStore: { alias: "GRA", container: "outputs" },
          },
        ],
        sh(
          "cd /workspace/out && echo new > keep.txt && rm gone.txt dir/nested.txt && mkdir -p m && echo 1 > m/model.bin",
        ),
      );
      const { exit, lines } = await lifecycle(job);
      assert.equal(exit.exitCode, 0, lines.join("\n"));
      assert.deepEqual(objectsOf("GRA", "outputs"), {
        "dir/nested.txt": "n",
        "gone.txt": "still here",
        "keep.txt": "new\n",
        "m/model.bin": "1\n",
      });
    });

    test("an RWD volume writes deletions back too", async () => {
      putObjects("GRA", "outputs", { "keep.txt": "k", "gone.txt": "g", "dir/nested.txt": "n" });
      const job = makeJob(
        [
          {
            mountPath: "/workspace/out",
            permission: "RWD",
            dataStore: { alias: "GRA", container: "outputs" },
          },
        ],
        sh("cd /workspace/out && rm gone.txt dir/nested.txt && echo a > added.txt"),
      );
      const { exit } = await lifecycle(job);
      assert.equal(exit.exitCode, 0);
      assert.deepEqual(objectsOf("GRA", "outputs"), { "added.txt": "a\n", "keep.txt": "k" });
    });

    test("a prefix selects a folder of the container, and writes go back under it", async () => {
      putObjects("GRA", "lake", {
        "datasets/v1/x.csv": "x",
        "datasets/v1/sub/y.csv": "y",
        "datasets/v2/z.csv": "z",
        "top.txt": "t",
      });
      const job = makeJob(
        [
          {
            mountPath: "/workspace/data",
            permission: "RWD",
            dataStore: { alias: "GRA", container: "lake", prefix: "/datasets/v1/" },
          },
        ],
        sh("cd /workspace/data && find . -type f | sort && rm x.csv && echo r > result.txt"),
      );
      const { exit, lines } = await lifecycle(job);
      assert.equal(exit.exitCode, 0);
      assert.deepEqual(lines, ["./sub/y.csv", "./x.csv"]);
      assert.deepEqual(objectsOf("GRA", "lake"), {
        "datasets/v1/result.txt": "r\n",
        "datasets/v1/sub/y.csv": "y",
        "datasets/v2/z.csv": "z",
        "top.txt": "t",
      });
    });

    test("a prefix naming an object instead of a folder is a DataSyncError saying so", async () => {
      putObjects("GRA", "lake", { "datasets/file.csv": "x" });
      const job = makeJob([
        {
          mountPath: "/workspace/d",
          dataStore: { alias: "GRA", container: "lake", prefix: "datasets/file.csv" },
        },
      ]);
      await assert.rejects(runtime.pullVolumes(job), /names an object of container "lake", not a folder/);
    });

    test("the wrapped volumeSource.dataStore form works like the published dataStore form", async () => {
      putObjects("BHS", "wrapped", { "w.txt": "wrapped data" });
      const job = makeJob(
        [
          { mountPath: "/workspace/in", volumeSource: { dataStore: { alias: "BHS", container: "wrapped" } } },
          {
            mountPath: "/workspace/out",
            permission: "RW",
            volumeSource: { dataStore: { alias: "BHS", container: "made" } },
          },
        ],
        sh("cat /workspace/in/w.txt; cp /workspace/in/w.txt /workspace/out/copy.txt"),
      );
      const { exit, lines, volumes } = await lifecycle(job);
      assert.equal(exit.exitCode, 0, lines.join("\n"));
      assert.deepEqual(lines, ["wrapped data"]);
      assert.deepEqual(volumes[1]?.source, {
        kind: "dataStore",
        alias: "BHS",
        container: "made",
        prefix: "",
      });
      assert.equal(volumes[0]?.permission, "RO", "the default permission is RO");
      assert.deepEqual(objectsOf("BHS", "made"), { "copy.txt": "wrapped data" });
    });

    test("a missing container fails an RO volume with a clear message and reads as empty for RW", async () => {
      const ro = makeJob([
        { mountPath: "/workspace/data", dataStore: { alias: "GRA", container: "nowhere" } },
      ]);
      await assert.rejects(runtime.pullVolumes(ro), (error: Error) => {
        assert.ok(error instanceof DataSyncError);
        assert.match(error.message, /volume 0 \(mountPath "\/workspace\/data"\)/);
        assert.match(error.message, /container "nowhere" of data store "GRA" does not exist/);
        assert.match(error.message, /ai-training data upload GRA nowhere/);
        return true;
      });
      const rw = makeJob([
        { mountPath: "/workspace/out", permission: "RW", dataStore: { alias: "GRA", container: "fresh" } },
      ]);
      const volumes = await runtime.pullVolumes(rw);
      assert.deepEqual(readdirSync(volumes[0]?.hostPath ?? ""), []);
    });

    test("a cached volume is kept across jobs and refreshed from the container on each pull", async () => {
      putObjects("GRA", "cached", { "big.bin": "0123456789", "old.txt": "o" });
      const volume: Volume = {
        mountPath: "/workspace/data",
        cache: true,
        dataStore: { alias: "GRA", container: "cached" },
      };
      const progress: SyncProgress[] = [];
      const first = makeJob([volume]);
      const firstVolumes = await runtime.pullVolumes(first, (p) => progress.push(p));
      assert.ok(firstVolumes[0]?.hostPath.startsWith(path.join(dataDir, "cache", "GRA", "cached")));
      assert.deepEqual(progress.at(-1), { direction: "pull", volumeIndex: 0, done: 2, total: 2 });
      await runtime.cleanup(first, firstVolumes);
      assert.ok(
        existsSync(path.join(firstVolumes[0]?.hostPath ?? "", "big.bin")),
        "cleanup keeps a cached volume",
      );

      rmSync(path.join(dataDir, "object-storage", "GRA", "cached", "old.txt"));
      putObjects("GRA", "cached", { "new.txt": "n" });
      progress.length = 0;
      const second = makeJob([volume], sh("ls /workspace/data"));
      const secondVolumes = await runtime.pullVolumes(second, (p) => progress.push(p));
      assert.equal(secondVolumes[0]?.hostPath, firstVolumes[0]?.hostPath, "the same folder is reused");
      // big.bin is unchanged, so only new.txt is copied and old.txt removed: two steps, not three.
      assert.deepEqual(progress.at(-1), { direction: "pull", volumeIndex: 0, done: 2, total: 2 });
      const { lines } = await runJob(second, secondVolumes);
      assert.deepEqual(lines, ["big.bin", "new.txt"]);
    });

    test("cleanup removes the scratch folders of volumes that are not cached", async () => {
      putObjects("GRA", "scratch", { "f.txt": "f" });
      const job = makeJob([
        { mountPath: "/workspace/data", dataStore: { alias: "GRA", container: "scratch" } },
      ]);
      const volumes = await runtime.pullVolumes(job);
      assert.ok(existsSync(volumes[0]?.hostPath ?? ""));
      await runtime.cleanup(job, volumes);
      assert.ok(!existsSync(volumes[0]?.hostPath ?? ""));
    });

    test("a standalone volume is an empty folder; a remote publicGit fails saying there is no network", async () => {
      const job = makeJob(
        [{ mountPath: "/workspace/scratch", standalone: {} }],
        sh("ls -A /workspace/scratch | wc -l"),
      );
      const { lines, volumes } = await lifecycle(job);
      assert.deepEqual(volumes[0]?.source, { kind: "standalone" });
      assert.deepEqual(lines, ["0"]);
      const git = makeJob([
        { mountPath: "/workspace/code", publicGit: { url: "https://example.org/repo.git" } },
      ]);
      await assert.rejects(runtime.pullVolumes(git), /no network access/);
    });

    test("a publicGit volume whose URL is a local repository is cloned read-only", async () => {
      const repo = path.join(root, `repo-${method}`);
      mkdirSync(repo, { recursive: true });
      const git = (...args: string[]) =>
        execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", ...args], {
          stdio: "ignore",
        });
      git("init", "-q");
      writeFileSync(path.join(repo, "README"), "from git\n");
      git("add", "README");
      git("commit", "-q", "-m", "first");
      const job = makeJob(
        [{ mountPath: "/workspace/code", permission: "RW", publicGit: { url: repo } }],
        sh("cat /workspace/code/README; touch /workspace/code/x 2>/dev/null || echo read-only"),
      );
      const { lines, volumes } = await lifecycle(job);
      assert.equal(volumes[0]?.permission, "RO");
      assert.deepEqual(lines, ["from git", "read-only"]);
    });

    test("a prefix with a .. segment is refused before anything is copied", async () => {
      const job = makeJob([
        { mountPath: "/workspace/d", dataStore: { alias: "GRA", container: "c", prefix: "a/../../etc" } },
      ]);
      await assert.rejects(runtime.pullVolumes(job), (error: Error) => {
        assert.ok(error instanceof DataSyncError);
        assert.match(error.message, /has a "\.\." segment/);
        return true;
      });
    });

    test("mount paths and containers with spaces, quotes and $() are taken literally", async () => {
      const marker = path.join(root, "injected");
      // A container name cannot hold "/", so its payload writes a relative file, looked for where it could land.
      const container = `c $(touch injected) \`touch injected\` '"`;
      const mountPath = `/workspace/a b/'q" $(touch ${marker}) \`touch ${marker}\``;
      putObjects("GRA", container, { "in.txt": "literal" });
      const job = makeJob(
        [{ mountPath, permission: "RW", dataStore: { alias: "GRA", container } }],
        ["/bin/sh", "-c", 'cat "$1/in.txt" && echo out > "$1/out.txt"', "sh", mountPath],
      );
      const volumes = await runtime.pullVolumes(job);
      const { exit, lines } = await runJob(job, volumes);
      await runtime.pushVolumes(job, volumes);
      assert.equal(exit.exitCode, 0, lines.join("\n"));
      assert.deepEqual(lines, ["literal"]);
      assert.equal(objectsOf("GRA", container)["out.txt"], "out\n");
      for (const place of [
        marker,
        path.resolve("injected"),
        path.join(job.jobDir, "workspace", "injected"),
      ]) {
        assert.ok(!existsSync(place), `no part of a path was run as a command (${place})`);
      }
    });

    test("a volume on an existing folder outside /workspace is mounted there inside the job only", async () => {
      putObjects("GRA", "outside", { "o.txt": "outside" });
      const mountPath = path.join(root, "mnt", `outside-${jobCount}`);
      mkdirSync(mountPath, { recursive: true });
      const job = makeJob(
        [{ mountPath, dataStore: { alias: "GRA", container: "outside" } }],
        ["cat", `${mountPath}/o.txt`],
      );
      const { exit, lines } = await lifecycle(job);
      assert.equal(exit.exitCode, 0, lines.join("\n"));
      assert.deepEqual(lines, ["outside"]);
      assert.deepEqual(readdirSync(mountPath), [], "the host sees only the empty mount point");
    });

    test("a missing mount point outside /workspace is a JobStartError and nothing is created", async () => {
      const mountPath = path.join(root, "absent", `mount-${jobCount}`, "deeper");
      const job = makeJob([
        { mountPath: "/workspace/in", standalone: {} },
        { mountPath, standalone: {} },
        { mountPath: `${mountPath}/nested`, standalone: {} },
      ]);
      const volumes = await runtime.pullVolumes(job);
      await assert.rejects(
        runtime.startProcess(job, volumes, () => undefined),
        (error: Error) => {
          assert.ok(error instanceof JobStartError);
          assert.match(error.message, new RegExp(`volume 1 has mountPath "${mountPath}"`));
          assert.match(error.message, /does not exist on this host/);
          assert.match(error.message, /under \/workspace\//);
          assert.match(error.message, /--create-mount-points/);
          return true;
        },
      );
      assert.equal(existsSync(path.join(root, "absent")), false, "no folder was created on the host");
      await runtime.cleanup(job, volumes);
    });

    test("a mount point reached through a symbolic link out of /workspace is not created on the host", async () => {
      const image = path.join(root, `image-link-${jobCount}`);
      const outside = path.join(root, `link-target-${jobCount}`);
      mkdirSync(image, { recursive: true });
      mkdirSync(outside);
      symlinkSync(outside, path.join(image, "link"));
      const linked = createRuntime({ dataDir, images: { "link/image": image }, isolation: method });
      const job = makeJob([{ mountPath: "/workspace/link/made", standalone: {} }]);
      job.spec = { ...job.spec, image: "link/image" };
      const volumes = await linked.pullVolumes(job);
      await assert.rejects(
        linked.startProcess(job, volumes, () => undefined),
        JobStartError,
      );
      await linked.cleanup(job, volumes);
      assert.deepEqual(readdirSync(outside), [], "nothing was created through the link");
    });

    test("with createMountPoints a missing mount point outside /workspace is created and stays", async () => {
      putObjects("GRA", "made", { "m.txt": "made" });
      const mountPath = path.join(root, "created", `mount-${jobCount}`);
      const creating = createRuntime({ dataDir, isolation: method, createMountPoints: true });
      const job = makeJob(
        [
          { mountPath, dataStore: { alias: "GRA", container: "made" } },
          { mountPath: `${mountPath}/sub`, standalone: {} },
        ],
        sh(`cat "${mountPath}/m.txt"; echo; test -d "${mountPath}/sub" && echo sub`),
      );
      const volumes = await creating.pullVolumes(job);
      const lines: string[] = [];
      const exit = await (await creating.startProcess(job, volumes, (line) => lines.push(line))).exited;
      await creating.cleanup(job, volumes);
      assert.equal(exit.exitCode, 0, lines.join("\n"));
      assert.deepEqual(lines, ["made", "sub"]);
      assert.deepEqual(readdirSync(mountPath), [], "the empty mount point stays on the host");
    });

    test("a mount path over a system folder, or twice the same, is a JobStartError", async () => {
      for (const volumes of [
        [{ mountPath: "/usr", standalone: {} }],
        [
          { mountPath: "/workspace/d", standalone: {} },
          { mountPath: "/workspace/d/", standalone: {} },
        ],
      ] as Volume[][]) {
        const job = makeJob(volumes);
        const prepared = await runtime.pullVolumes(job);
        await assert.rejects(
          runtime.startProcess(job, prepared, () => undefined),
          JobStartError,
        );
      }
    });

    test("without a way to mount, a job with volumes fails to start and says how to fix it", async () => {
      const plain = createRuntime({ dataDir, isolation: "none" });
      const job = makeJob([{ mountPath: "/workspace/d", standalone: {} }]);
      const volumes = await plain.pullVolumes(job);
      await assert.rejects(
        plain.startProcess(job, volumes, () => undefined),
        (error: Error) => {
          assert.ok(error instanceof JobStartError);
          assert.match(error.message, /no way to mount/);
          assert.match(error.message, /bubblewrap/);
          return true;
        },
      );
      const noVolumes = makeJob([], ["pwd"]);
      const lines: string[] = [];
      const running = await plain.startProcess(noVolumes, [], (line) => lines.push(line));
      assert.equal((await running.exited).exitCode, 0, "a job without volumes still runs");
      assert.deepEqual(
        lines,
        [path.join(noVolumes.jobDir, "workspace")],
        "in its host folder, not /workspace",
      );
    });

    test("a volume may be mounted inside an RO volume, which stays read-only", async () => {
      putObjects("GRA", "outer", { "o.txt": "outer\n" });
      const job = makeJob(
        [
          {
            mountPath: "/workspace/data/out",
            permission: "RW",
            dataStore: { alias: "GRA", container: "inner" },
          },
          { mountPath: "/workspace/data", permission: "RO", dataStore: { alias: "GRA", container: "outer" } },
        ],
        sh(
          "cat /workspace/data/o.txt; echo i > /workspace/data/out/i.txt; touch /workspace/data/x 2>/dev/null || echo ro",
        ),
      );
      const { exit, lines } = await lifecycle(job);
      assert.equal(exit.exitCode, 0, lines.join("\n"));
      assert.deepEqual(lines, ["outer", "ro"]);
      assert.deepEqual(objectsOf("GRA", "inner"), { "i.txt": "i\n" });
      assert.deepEqual(objectsOf("GRA", "outer"), { "o.txt": "outer\n" });
    });

    test("a mount path that clashes with a file of the image is a JobStartError naming the path", async () => {
      const image = path.join(root, "image-clash");
      mkdirSync(image, { recursive: true });
      writeFileSync(path.join(image, "data"), "a file, not a folder");
      const clashing = createRuntime({ dataDir, images: { "clash/image": image }, isolation: method });
      const job = { ...makeJob([{ mountPath: "/workspace/data", standalone: {} }]) };
      job.spec = { ...job.spec, image: "clash/image" };
      const volumes = await clashing.pullVolumes(job);
      await assert.rejects(
        clashing.startProcess(job, volumes, () => undefined),
        (error: Error) => {
          assert.ok(error instanceof JobStartError);
          assert.match(error.message, /preparing the mount/);
          assert.match(error.message, /\/workspace\/data/);
          return true;
        },
      );
    });
  });
