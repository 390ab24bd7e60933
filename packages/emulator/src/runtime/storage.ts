/**
 * Object Storage on disk and the copies between it and job volumes. A data store container is the folder
 * `DATA_DIR/object-storage/ALIAS/CONTAINER/`; an object is a file below it whose path is the object name.
 * Copies go file by file through `copyFile` (the kernel copies, nothing is buffered whole in memory) and
 * skip files whose size and modification time already match, which is what makes a cached volume cheap.
 */
import { copyFile, lstat, mkdir, readdir, rm, rmdir, utimes } from "node:fs/promises";
import path from "node:path";

/** A file below a synchronised folder, keyed by its `/`-separated path relative to that folder. */
interface Entry {
  size: number;
  mtimeMs: number;
}

/** What a synchronisation did, for progress and for tests. */
export interface MirrorResult {
  copied: number;
  deleted: number;
}

/** Checks one name of a data store path (alias or container); returns why it is unusable, if it is. */
export function refuseStoreName(name: string): string | undefined {
  if (name.length === 0) return "it is empty";
  if (name.includes("/")) return 'it contains "/"';
  if (name.includes("\0")) return "it contains a NUL character";
  if (name === "." || name === "..") return `"${name}" is not a name`;
  return undefined;
}

/**
 * Splits an object prefix into folder names. A prefix names a folder of the container (`datasets/v1`,
 * with or without slashes around it); the job sees that folder's content at the mount path.
 */
export function prefixSegments(prefix: string | undefined): string[] {
  const segments = (prefix ?? "").split("/").filter((s) => s.length > 0);
  for (const segment of segments) {
    if (segment === "." || segment === "..")
      throw new Error(`the prefix "${prefix}" has a "${segment}" segment`);
    if (segment.includes("\0")) throw new Error(`the prefix "${prefix}" contains a NUL character`);
  }
  return segments;
}

/** Lists the regular files under `root`; a missing root lists as empty. Symbolic links are not objects. */
export async function listFiles(root: string): Promise<Map<string, Entry>> {
  const files = new Map<string, Entry>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, childRel);
      else if (entry.isFile()) {
        const info = await lstat(full);
        files.set(childRel, { size: info.size, mtimeMs: info.mtimeMs });
      }
    }
  };
  await walk(root, "");
  return files;
}

/**
 * Makes `target` hold every file of `source`: new and changed files are copied (modification times kept,
 * so the next run can skip them); with `deleteExtra`, files of `target` missing from `source` are removed
 * and emptied folders pruned. `onProgress(done, total)` is called before the first step and after each.
 */
export async function mirror(
  source: string,
  target: string,
  options: { deleteExtra: boolean; onProgress?: (done: number, total: number) => void; concurrency?: number },
): Promise<MirrorResult> {
  const [from, to] = await Promise.all([listFiles(source), listFiles(target)]);
  const toCopy = [...from].filter(([rel, entry]) => {
    const existing = to.get(rel);
    // Copies carry their source's time to the millisecond; the float round trip may move it a hair.
    return !existing || existing.size !== entry.size || Math.abs(existing.mtimeMs - entry.mtimeMs) >= 1;
  });
  const toDelete = options.deleteExtra ? [...to.keys()].filter((rel) => !from.has(rel)) : [];
  const total = toCopy.length + toDelete.length;
  let done = 0;
  options.onProgress?.(0, total);
  const step = () => options.onProgress?.(++done, total);

  await mkdir(target, { recursive: true });
  await inParallel(toCopy, options.concurrency ?? 4, async ([rel, entry]) => {
    const dest = path.join(target, ...rel.split("/"));
    await makeFolderFor(target, rel);
    await copyFile(path.join(source, ...rel.split("/")), dest);
    const when = new Date(entry.mtimeMs);
    await utimes(dest, when, when);
    step();
  });
  for (const rel of toDelete) {
    await rm(path.join(target, ...rel.split("/")), { force: true });
    await pruneEmptyFolders(target, path.posix.dirname(rel));
    step();
  }
  return { copied: toCopy.length, deleted: toDelete.length };
}

/**
 * Creates the folders leading to `rel` under `root`. Where the target has a file with the name of a
 * needed folder (an object replaced by a "folder" of objects), the file gives way.
 */
async function makeFolderFor(root: string, rel: string): Promise<void> {
  const parts = rel.split("/").slice(0, -1);
  let current = root;
  for (const part of parts) {
    current = path.join(current, part);
    const info = await lstat(current).catch(() => undefined);
    if (info && !info.isDirectory()) await rm(current, { force: true });
    if (!info?.isDirectory()) await mkdir(current).catch(ignoreExists);
  }
  const leaf = path.join(root, ...rel.split("/"));
  const info = await lstat(leaf).catch(() => undefined);
  // A folder (or link) where the file must go: the file wins, as an object name can only be one thing.
  if (info && !info.isFile()) await rm(leaf, { recursive: true, force: true });
}

async function pruneEmptyFolders(root: string, relDir: string): Promise<void> {
  for (let dir = relDir; dir !== "." && dir !== ""; dir = path.posix.dirname(dir)) {
    try {
      await rmdir(path.join(root, ...dir.split("/")));
    } catch {
      return; // not empty (or gone): stop climbing
    }
  }
}

function ignoreExists(error: NodeJS.ErrnoException): void {
  if (error.code !== "EEXIST") throw error;
}

async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
