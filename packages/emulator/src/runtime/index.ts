/**
 * The emulator's runtime: it moves volume data between the on-disk Object Storage and job folders, and runs
 * each job's command as a host process. The lifecycle engine drives it through the `Runtime` interface of
 * `types.ts`; nothing here knows about HTTP or the store.
 *
 * Known shortcoming: a job runs on the host's own files and programs (only its mounts are private), so it
 * can read and write anything the emulator's user can outside `/workspace` and its volumes.
 */
import { cp, mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { JobSpec } from "@ai-training/client";
import { buildJobEnv } from "./env.js";
import { killLeftovers, recordProcess } from "./leftovers.js";
import { launch } from "./process.js";
import {
  detectIsolation,
  type IsolationMethod,
  isolationFor,
  jobFolderHolding,
  normalizeMountPath,
  planLaunch,
  refuseMountPath,
  WORKSPACE,
} from "./sandbox.js";
import {
  type JobProcess,
  JobStartError,
  type PreparedVolume,
  type Runtime,
  type RuntimeJob,
} from "./types.js";
import { pullVolumes, pushVolumes } from "./volumes.js";

export type { IsolationMethod } from "./sandbox.js";
export type {
  JobProcess,
  PreparedVolume,
  ProcessExit,
  Runtime,
  RuntimeJob,
  SyncProgress,
} from "./types.js";
export { DataSyncError, JobStartError } from "./types.js";

/** Options of `createRuntime`. */
export interface RuntimeOptions {
  /** The emulator's data folder: Object Storage lives in `object-storage/`, cached volumes in `cache/`. */
  dataDir: string;
  /** Image name -> host folder whose files the image holds in `/workspace` (the emulator pulls no image). */
  images?: Record<string, string>;
  /** Image name -> the command the image runs when a job gives none. */
  defaultCommands?: Record<string, string[]>;
  /** Grace between SIGTERM and SIGKILL used by `stopAll`; 10 s when not given. */
  graceMs?: number;
  /** PATH jobs start from; the emulator's own PATH when not given. */
  basePath?: string;
  /**
   * How jobs get their own mounts: `auto` (default) picks `unshare` as root, else `bwrap` when it works,
   * else `none`, where jobs with volumes fail to start and others run in their host folder.
   */
  isolation?: IsolationMethod | "auto";
  /**
   * Create a missing mount point outside /workspace on the host (an empty folder that stays there), as
   * `--create-mount-points` asks. Off by default: such a job then fails to start saying what to do.
   */
  createMountPoints?: boolean;
}

/** The runtime plus what the emulator needs at shutdown. */
export interface HostRuntime extends Runtime {
  /** The isolation method jobs run with (resolved on first use when `auto`). */
  isolation(): Promise<IsolationMethod>;
  /**
   * Stops every job process still running (SIGTERM to each process group, SIGKILL after `graceMs`, by
   * default the runtime's `graceMs`). Call it on emulator shutdown; resolves once all have exited.
   */
  stopAll(graceMs?: number): Promise<void>;
  /**
   * Kills what a job's processes left running when an earlier emulator run died without stopping them
   * (the runtime records each job's process group in `JOB_DIR/process.json`). Call it on start for every
   * job the store still holds as active, then `cleanup(job, [])`. Resolves true when it signalled.
   */
  killLeftovers(job: RuntimeJob): Promise<boolean>;
}

/** Creates the runtime that runs jobs on this host. */
export function createRuntime(options: RuntimeOptions): HostRuntime {
  const dataDir = path.resolve(options.dataDir);
  const images = new Map(Object.entries(options.images ?? {}).map(([k, v]) => [k, path.resolve(v)]));
  const defaultCommands = new Map(Object.entries(options.defaultCommands ?? {}));
  const graceMs = options.graceMs ?? 10_000;
  /** The job processes this runtime started that have not exited, for `stopAll`. */
  const running = new Set<JobProcess>();
  const chosen =
    options.isolation && options.isolation !== "auto" ? isolationFor(options.isolation) : detectIsolation();
  // A failed probe must not become an unhandled rejection before the first job asks for it.
  chosen.catch(() => undefined);

  const startProcess: Runtime["startProcess"] = async (job, volumes, onOutput) => {
    const isolation = await chosen;
    const method = isolation.method;
    const folders = jobFolders(job);
    checkVolumesCanMount(job, volumes, method, dataDir);
    if (!options.createMountPoints) await checkMountPoints(job, volumes);
    await mkdir(folders.workspace, { recursive: true });
    await mkdir(folders.home, { recursive: true });

    const imageDir = images.get(job.spec.image);
    if (imageDir) {
      await cp(imageDir, folders.workspace, { recursive: true, force: true }).catch((error: Error) => {
        throw new JobStartError(
          `Job ${job.id} cannot start: copying the files of image "${job.spec.image}" from ${imageDir} ` +
            `into its working directory failed (${error.message}). Check the emulator's --image option.`,
        );
      });
    }

    const command = commandOf(job.spec, defaultCommands);
    refuseNulCharacters(job, command);
    const env = await buildJobEnv(job.spec, {
      home: folders.home,
      aliasDir: folders.aliases,
      ...(options.basePath ? { basePath: options.basePath } : {}),
    });
    const plan = await planLaunch(isolation, folders.workspace, volumes, command, options.createMountPoints);
    const outcome = await launch(plan, env, onOutput);
    if (outcome.started) {
      running.add(outcome.process);
      void outcome.process.exited.finally(() => running.delete(outcome.process));
      await recordProcess(job.jobDir, outcome.process.pid, outcome.process.exited).catch(() => undefined);
      return outcome.process;
    }
    throw new JobStartError(explainStartFailure(job, command, method, env.PATH ?? "", outcome));
  };

  return {
    isolation: async () => (await chosen).method,
    pullVolumes: (job, onProgress) => pullVolumes(dataDir, job, jobFolders(job).volumes, onProgress),
    pushVolumes: (job, volumes, onProgress) => pushVolumes(dataDir, job, volumes, onProgress),
    startProcess,
    async cleanup(job, volumes) {
      const folders = jobFolders(job);
      for (const volume of volumes) {
        if (!volume.cache) await rm(volume.hostPath, { recursive: true, force: true });
      }
      await Promise.all(
        [folders.workspace, folders.home, folders.aliases, folders.volumes].map((dir) =>
          rm(dir, { recursive: true, force: true }),
        ),
      );
    },
    async stopAll(ms) {
      await Promise.all([...running].map((p) => p.stop(ms ?? graceMs)));
    },
    killLeftovers: (job) => killLeftovers(job.jobDir),
  };
}

/** The folders the runtime owns under a job's folder. */
function jobFolders(job: RuntimeJob) {
  return {
    workspace: path.join(job.jobDir, "workspace"),
    home: path.join(job.jobDir, "home"),
    aliases: path.join(job.jobDir, "bin"),
    volumes: path.join(job.jobDir, "volumes"),
  };
}

/** The command to run; a job without one runs the image's default, or says it does not know it. */
function commandOf(spec: JobSpec, defaults: Map<string, string[]>): string[] {
  if (spec.command && spec.command.length > 0) return spec.command;
  const known = defaults.get(spec.image);
  if (known && known.length > 0) return known;
  const message =
    `The emulator does not know the default command of image "${spec.image}" (it does not pull images), ` +
    "so this job with no command ends here with exit code 0. Give the job a command to run something.";
  return ["/bin/sh", "-c", 'printf "%s\\n" "$1"', "sh", message];
}

/** A NUL character cannot cross exec(); say which field holds one instead of failing obscurely. */
function refuseNulCharacters(job: RuntimeJob, command: string[]): void {
  const where =
    command.findIndex((word) => word.includes("\0")) >= 0
      ? "command"
      : (job.spec.envVars ?? []).find((v) => v.name.includes("\0") || String(v.value).includes("\0"))
        ? "envVars"
        : undefined;
  if (where) {
    throw new JobStartError(
      `Job ${job.id} cannot start: its ${where} contains a NUL character, which no program can receive. ` +
        `Remove it from the job's ${where}.`,
    );
  }
}

function checkVolumesCanMount(
  job: RuntimeJob,
  volumes: PreparedVolume[],
  method: IsolationMethod,
  dataDir: string,
): void {
  if (volumes.length === 0) return;
  if (method === "none") {
    throw new JobStartError(
      `Job ${job.id} cannot start: it has ${volumes.length} volume(s) but this emulator has no way to mount ` +
        "them (it needs to run as root, where `unshare --mount` is used, or to have bubblewrap (`bwrap`) " +
        "installed). Run the emulator as root or install bubblewrap, or submit the job without volumes.",
    );
  }
  const seen = new Set<string>();
  const protectedDirs = [dataDir, job.jobDir, ...volumes.map((v) => v.hostPath)];
  for (const volume of volumes) {
    const where = `volume ${volume.index} (mountPath "${volume.mountPath}")`;
    const refused = refuseMountPath(volume.mountPath);
    if (refused) {
      throw new JobStartError(
        `Job ${job.id} cannot start: ${where} cannot be mounted because ${refused}. Choose another mount ` +
          `path, such as ${WORKSPACE}/data.`,
      );
    }
    const normal = normalizeMountPath(volume.mountPath);
    if (seen.has(normal)) {
      throw new JobStartError(
        `Job ${job.id} cannot start: ${where} uses the same mount path as another volume. Give each ` +
          "volume its own mount path.",
      );
    }
    seen.add(normal);
    const hidden = protectedDirs.find((dir) => dir === normal || dir.startsWith(`${normal}/`));
    if (hidden) {
      throw new JobStartError(
        `Job ${job.id} cannot start: ${where} would hide the emulator's own folder ${hidden}, which the ` +
          `job's files live in. Choose a mount path such as ${WORKSPACE}/data.`,
      );
    }
  }
}

/**
 * The runtime never creates a folder on the host outside its data dir (but the one `/workspace` mount
 * point): a mount point outside the job's own folders must already exist on the host, where it is only
 * mounted over inside the job's private namespace.
 */
async function checkMountPoints(job: RuntimeJob, volumes: PreparedVolume[]): Promise<void> {
  const mountPaths = volumes.map((v) => v.mountPath);
  for (const volume of volumes) {
    if (jobFolderHolding(volume.mountPath, mountPaths) !== undefined) continue;
    const folder = normalizeMountPath(volume.mountPath);
    const found = await stat(folder).catch(() => undefined);
    if (found?.isDirectory()) continue;
    const what = found
      ? `${folder} exists on this host but is not a folder`
      : `the folder ${folder} does not exist on this host`;
    throw new JobStartError(
      `Job ${job.id} cannot start: volume ${volume.index} has mountPath "${volume.mountPath}", outside ` +
        `${WORKSPACE}, and ${what}; the emulator creates no folder on the host outside its data dir. ` +
        `Mount the volume under ${WORKSPACE}/ (e.g. ${WORKSPACE}${folder}), or create the folder ${folder} ` +
        "on this host, or start the emulator with --create-mount-points (it then creates such folders, " +
        "and they stay on the host after the job).",
    );
  }
}

function explainStartFailure(
  job: RuntimeJob,
  command: string[],
  method: IsolationMethod,
  searchPath: string,
  outcome: Extract<Awaited<ReturnType<typeof launch>>, { started: false }>,
): string {
  const program = JSON.stringify(command[0] ?? "");
  const cwd = method === "none" ? "its working directory" : WORKSPACE;
  const said = outcome.output.length > 0 ? ` The system said: ${outcome.output.join(" / ")}.` : "";
  switch (outcome.reason) {
    case "ENOENT":
      return (
        `Job ${job.id} cannot start: the command ${program} was not found` +
        (command[0]?.includes("/") ? ` (relative paths start from ${cwd})` : ` on PATH (${searchPath})`) +
        ". The emulator runs commands on this host, not in the image: install the program here, add it to " +
        "the image folder given with --image, or fix the job's command."
      );
    case "EACCES":
      return (
        `Job ${job.id} cannot start: ${program} exists but is not an executable file. Make it executable ` +
        `(chmod +x) or run it through its interpreter, e.g. ["sh", ${program}].`
      );
    case "SPAWN":
      return (
        `Job ${job.id} cannot start: the emulator could not run its wrapper ` +
        `(${outcome.spawnError?.code ?? outcome.spawnError?.message}). Check that /bin/sh and ` +
        `${method === "none" ? "" : `${method} `}are installed on this host.`
      );
    case "ESCAPE":
      return (
        `Job ${job.id} cannot start: its mount point ${JSON.stringify(outcome.detail)} leads, through a ` +
        "symbolic link, out of the job's own folders, and the emulator creates no folder on the host " +
        "outside its data dir. Remove the link from the image folder or the volume, or choose another " +
        "mount path."
      );
    case "NOMOUNTPOINT":
      return (
        `Job ${job.id} cannot start: its mount point ${JSON.stringify(outcome.detail)} is no longer a ` +
        `folder on this host. Create the folder, or mount the volume under ${WORKSPACE}/.`
      );
    case "MOUNT":
    case "MKDIR":
    case "REMOUNT":
      return (
        `Job ${job.id} cannot start: preparing the mount at ${JSON.stringify(outcome.detail)} failed ` +
        `(${outcome.reason.toLowerCase()}).${said} Check that the mount path does not clash with a file of ` +
        "the image or of the host."
      );
    default:
      if (method === "bwrap") {
        // bwrap makes the mounts itself and exits before the wrapper runs when one fails.
        return (
          `Job ${job.id} cannot start: preparing the mounts of its volumes with bwrap failed.${said} ` +
          "Check that no mount path clashes with a file of the image or of the host."
        );
      }
      return (
        `Job ${job.id} cannot start: its process ended before running the command ` +
        `(${outcome.reason}${outcome.detail ? ` ${outcome.detail}` : ""}).${said} This is an emulator ` +
        "problem; please report it with this message."
      );
  }
}
