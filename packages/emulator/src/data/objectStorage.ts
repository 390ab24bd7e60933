/**
 * The emulator's Object Storage seen from outside a job: a container is the folder
 * `DATA_DIR/object-storage/ALIAS/CONTAINER/`, an object is a file in it, its name the file's path
 * relative to the container with `/` separators. `ai-training data upload|download|list` use this.
 */
import { copyFile, mkdir, readdir, stat } from "node:fs/promises";
import path from "node:path";

/** One object of a container. */
export interface StoredObject {
  name: string;
  size: number;
  lastModified: string;
}

/** Raised for a name that cannot be a data-store alias, container or object prefix. */
export class ObjectStorageError extends Error {
  override readonly name = "ObjectStorageError";
}

function checkName(kind: string, value: string): void {
  if (value === "" || value === "." || value === ".." || value.includes("/") || value.includes("\\")) {
    throw new ObjectStorageError(
      `${kind} '${value}' is not valid: give a plain name without '/' (e.g. GRA, my-data)`,
    );
  }
}

/** The prefix as path segments; `..` and empty segments are refused. */
export function prefixSegments(prefix: string | undefined): string[] {
  if (!prefix) return [];
  const segments = prefix.split("/").filter((s) => s !== "");
  if (segments.some((s) => s === "." || s === "..")) {
    throw new ObjectStorageError(`--prefix '${prefix}' must not contain '.' or '..' segments`);
  }
  return segments;
}

/** The folder that holds a container's objects. */
export function containerPath(dataDir: string, alias: string, container: string): string {
  checkName("alias", alias);
  checkName("container", container);
  return path.join(dataDir, "object-storage", alias, container);
}

async function walk(root: string, relative: string[], out: StoredObject[]): Promise<void> {
  const dir = path.join(root, ...relative);
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const parts = [...relative, entry.name];
    if (entry.isDirectory()) await walk(root, parts, out);
    else if (entry.isFile()) {
      const info = await stat(path.join(root, ...parts));
      out.push({ name: parts.join("/"), size: info.size, lastModified: info.mtime.toISOString() });
    }
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The containers that exist under `alias`, for messages that list what is there. */
export async function listContainers(dataDir: string, alias: string): Promise<string[]> {
  try {
    const entries = await readdir(path.join(dataDir, "object-storage", alias), { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

async function requireContainer(dataDir: string, alias: string, container: string): Promise<string> {
  const dir = containerPath(dataDir, alias, container);
  if (!(await isDirectory(dir))) {
    const existing = await listContainers(dataDir, alias);
    throw new ObjectStorageError(
      `container ${container} does not exist under alias ${alias} in ${path.join(dataDir, "object-storage")}` +
        (existing.length > 0
          ? `; containers of ${alias}: ${existing.join(", ")}`
          : "; upload files to create it"),
    );
  }
  return dir;
}

/** The objects of a container whose names start with `prefix`, sorted by name. */
export async function listObjects(
  dataDir: string,
  alias: string,
  container: string,
  prefix?: string,
): Promise<StoredObject[]> {
  const dir = await requireContainer(dataDir, alias, container);
  const objects: StoredObject[] = [];
  await walk(dir, [], objects);
  const wanted = prefixSegments(prefix).join("/");
  return wanted === ""
    ? objects
    : objects.filter((o) => o.name === wanted || o.name.startsWith(`${wanted}/`));
}

/**
 * Copies local files into a container (created when missing). A file becomes `PREFIX/its name`; a
 * folder's files become `PREFIX/their path inside the folder`. Returns the objects written.
 */
export async function uploadObjects(
  dataDir: string,
  alias: string,
  container: string,
  sources: string[],
  prefix?: string,
): Promise<StoredObject[]> {
  const dir = containerPath(dataDir, alias, container);
  const base = prefixSegments(prefix);
  const written: StoredObject[] = [];
  for (const source of sources) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(source);
    } catch {
      throw new ObjectStorageError(`cannot upload ${source}: no such file or folder`);
    }
    const files: Array<{ from: string; name: string[] }> = [];
    if (info.isDirectory()) {
      const inside: StoredObject[] = [];
      await walk(source, [], inside);
      for (const object of inside)
        files.push({ from: path.join(source, object.name), name: object.name.split("/") });
    } else {
      files.push({ from: source, name: [path.basename(source)] });
    }
    for (const file of files) {
      const target = path.join(dir, ...base, ...file.name);
      await mkdir(path.dirname(target), { recursive: true });
      await copyFile(file.from, target);
      const written_ = await stat(target);
      written.push({
        name: [...base, ...file.name].join("/"),
        size: written_.size,
        lastModified: written_.mtime.toISOString(),
      });
    }
  }
  await mkdir(dir, { recursive: true });
  return written;
}

/** Copies the objects under `prefix` into `destination`, keeping their names as relative paths. */
export async function downloadObjects(
  dataDir: string,
  alias: string,
  container: string,
  destination: string,
  prefix?: string,
): Promise<StoredObject[]> {
  const dir = await requireContainer(dataDir, alias, container);
  const objects = await listObjects(dataDir, alias, container, prefix);
  for (const object of objects) {
    const target = path.join(destination, ...object.name.split("/"));
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.join(dir, ...object.name.split("/")), target);
  }
  return objects;
}
