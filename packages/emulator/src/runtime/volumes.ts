/**
 * INITIALIZING and FINALIZING: volume data between the on-disk Object Storage and the host folders a job
 * sees at its mount paths.
 *
 * - A missing container for an RO volume is an error (the job would read nothing it expects); for RW and
 *   RWD volumes it reads as empty and is created when the job's output is written back.
 * - A prefix names a folder of the container; a missing prefix folder reads as empty.
 * - `cache: true` keeps the volume under `DATA_DIR/cache/ALIAS/CONTAINER/PREFIX_KEY/` and reuses it; each
 *   pull refreshes it from the container, copying only what changed.
 * - `publicGit` is cloned with `git` only when its URL is a local path or `file://` URL: the emulator has
 *   no network. `standalone` is an empty folder.
 *
 * Known shortcoming: jobs running at the same time with the same cached volume share its one folder.
 */
import { execFile } from "node:child_process";
import { mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Volume } from "@ai-training/client";
import { mirror, prefixSegments, refuseStoreName } from "./storage.js";
import { DataSyncError, type PreparedVolume, type RuntimeJob, type SyncProgress } from "./types.js";

/** The folder of a data store container: `DATA_DIR/object-storage/ALIAS/CONTAINER`. */
export function containerDir(dataDir: string, alias: string, container: string): string {
  return path.join(dataDir, "object-storage", alias, container);
}

/** Copies every volume of `job` into a host folder (or refreshes its cached one), in spec order. */
export async function pullVolumes(
  dataDir: string,
  job: RuntimeJob,
  scratchDir: string,
  onProgress?: (p: SyncProgress) => void,
): Promise<PreparedVolume[]> {
  const prepared: PreparedVolume[] = [];
  const volumes = job.spec.volumes ?? [];
  for (const [index, volume] of volumes.entries()) {
    const ready = describeVolume(dataDir, job, index, volume, scratchDir);
    const report = (done: number, total: number) =>
      onProgress?.({ direction: "pull", volumeIndex: index, done, total });
    const source = ready.source;
    try {
      if (source.kind === "dataStore") {
        const storeDir = containerDir(dataDir, source.alias, source.container);
        const exists = await isFolder(storeDir);
        if (!exists && ready.permission === "RO") {
          throw new DataSyncError(
            `${volumeName(job, ready)}: container "${source.container}" of data store "${source.alias}" ` +
              `does not exist (looked for ${storeDir}). Upload data first, e.g. \`ai-training data upload ` +
              `${source.alias} ${source.container} FILE...\`, or fix the volume's alias and container.`,
          );
        }
        const prefixDir = path.join(storeDir, ...prefixSegments(source.prefix));
        if (source.prefix && (await isFile(prefixDir))) {
          throw new DataSyncError(
            `${volumeName(job, ready)}: the prefix "${source.prefix}" names an object of container ` +
              `"${source.container}", not a folder of objects. Give the folder that holds it as the prefix.`,
          );
        }
        if (!ready.cache) await rm(ready.hostPath, { recursive: true, force: true });
        await mirror(prefixDir, ready.hostPath, {
          deleteExtra: true,
          onProgress: report,
        });
      } else if (source.kind === "publicGit") {
        await rm(ready.hostPath, { recursive: true, force: true });
        await cloneLocalGit(job, ready, source.url);
        report(1, 1);
      } else {
        if (!ready.cache) await rm(ready.hostPath, { recursive: true, force: true });
        await mkdir(ready.hostPath, { recursive: true });
        report(0, 0);
      }
    } catch (error) {
      if (error instanceof DataSyncError) throw error;
      throw new DataSyncError(
        `${volumeName(job, ready)}: pulling its data failed (${(error as Error).message}). Check the ` +
          "emulator's data folder and free disk space, then start the job again.",
      );
    }
    prepared.push(ready);
  }
  return prepared;
}

/** Writes RW volumes back (adds and changes) and RWD volumes back (deletions too); RO never. */
export async function pushVolumes(
  dataDir: string,
  job: RuntimeJob,
  volumes: PreparedVolume[],
  onProgress?: (p: SyncProgress) => void,
): Promise<void> {
  for (const volume of volumes) {
    const source = volume.source;
    if (volume.permission === "RO" || source.kind !== "dataStore") continue;
    const target = path.join(
      containerDir(dataDir, source.alias, source.container),
      ...prefixSegments(source.prefix),
    );
    try {
      await mirror(volume.hostPath, target, {
        deleteExtra: volume.permission === "RWD",
        onProgress: (done, total) =>
          onProgress?.({ direction: "push", volumeIndex: volume.index, done, total }),
      });
    } catch (error) {
      throw new DataSyncError(
        `${volumeName(job, volume)}: writing its data back to container "${source.container}" of data store ` +
          `"${source.alias}" failed (${(error as Error).message}). The job's output is still in ` +
          `${volume.hostPath} until the job is cleaned up.`,
      );
    }
  }
}

/** Reads one volume of the spec (both the published form and the wrapped `volumeSource` form). */
function describeVolume(
  dataDir: string,
  job: RuntimeJob,
  index: number,
  volume: Volume,
  scratchDir: string,
): PreparedVolume {
  const permission = volume.permission ?? "RO";
  const cache = volume.cache === true;
  const dataStore = volume.dataStore ?? volume.volumeSource?.dataStore;
  const publicGit = volume.publicGit ?? volume.volumeSource?.publicGit;
  const base = { index, mountPath: volume.mountPath, permission, cache };
  const scratch = path.join(scratchDir, String(index));
  const fail = (why: string) =>
    new DataSyncError(`Job ${job.id}, volume ${index} (mountPath "${volume.mountPath}"): ${why}`);

  if (dataStore) {
    for (const [field, value] of [
      ["alias", dataStore.alias],
      ["container", dataStore.container],
    ] as const) {
      const refused = refuseStoreName(value);
      if (refused) throw fail(`dataStore.${field} "${value}" cannot name a folder because ${refused}.`);
    }
    let segments: string[];
    try {
      segments = prefixSegments(dataStore.prefix);
    } catch (error) {
      throw fail(`${(error as Error).message}; give a prefix made of folder names, e.g. "datasets/v1".`);
    }
    const prefix = segments.join("/");
    const hostPath = cache
      ? path.join(dataDir, "cache", dataStore.alias, dataStore.container, cacheKey(prefix))
      : scratch;
    return {
      ...base,
      hostPath,
      source: { kind: "dataStore", alias: dataStore.alias, container: dataStore.container, prefix },
    };
  }
  if (publicGit)
    return {
      ...base,
      permission: "RO",
      cache: false,
      hostPath: scratch,
      source: { kind: "publicGit", url: publicGit.url },
    };
  const hostPath = cache
    ? path.join(dataDir, "cache", "standalone", encodeURIComponent(volume.mountPath))
    : scratch;
  return { ...base, hostPath, source: { kind: "standalone" } };
}

/**
 * The cache folder name of a prefix. Kept flat (`_all`, `prefix-datasets%2Fv1`) so the cache of a whole
 * container never contains the cache of one of its prefixes.
 */
function cacheKey(prefix: string): string {
  return prefix === "" ? "_all" : `prefix-${encodeURIComponent(prefix)}`;
}

function volumeName(job: RuntimeJob, volume: PreparedVolume): string {
  return `Job ${job.id}, volume ${volume.index} (mountPath "${volume.mountPath}")`;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function isFolder(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** Clones a git repository that is on this machine; anything else would need the network. */
async function cloneLocalGit(job: RuntimeJob, volume: PreparedVolume, url: string): Promise<void> {
  const local = url.startsWith("file://") ? url : path.isAbsolute(url) ? url : undefined;
  if (!local) {
    throw new DataSyncError(
      `${volumeName(job, volume)}: publicGit "${url}" cannot be cloned because the emulator has no network ` +
        "access. Use a local repository path (or file:// URL), or put the files in a data store container.",
    );
  }
  await mkdir(path.dirname(volume.hostPath), { recursive: true });
  await new Promise<void>((resolve, reject) => {
    execFile(
      "git",
      ["clone", "--quiet", "--depth", "1", "--", local, volume.hostPath],
      { timeout: 120_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", GIT_TERMINAL_PROMPT: "0" } },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        reject(
          new DataSyncError(
            `${volumeName(job, volume)}: cloning publicGit "${url}" failed: ${stderr.trim() || error.message}. ` +
              "Check that the path is a git repository readable by the emulator.",
          ),
        );
      },
    );
  });
}
