import { constants } from "node:fs";
import { access, mkdir, stat, symlink } from "node:fs/promises";
import path from "node:path";
import type { JobSpec } from "@ai-training/client";

/** Used when the emulator itself runs without a PATH (a bare service manager, say). */
const FALLBACK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Programs a command may name that some machines only have under a versioned name. */
const ALIASES: ReadonlyArray<readonly [string, string]> = [
  ["python", "python3"],
  ["pip", "pip3"],
];

/**
 * Finds `name` on `searchPath` as the shell would: the first executable regular file. Relative entries
 * are skipped because they would depend on the job's working directory, which differs from ours.
 */
export async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(":")) {
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here; try the next entry
    }
  }
  return undefined;
}

export interface JobEnvOptions {
  /** PATH the job starts from; the emulator's own PATH when not given. */
  basePath?: string;
  /** The job's HOME on the host. */
  home: string;
  /** A folder the runtime may fill with aliases such as `python` -> `python3`. */
  aliasDir: string;
}

/**
 * The environment of a job: a small base (PATH, HOME, LANG, unbuffered Python) with the job's `envVars` on
 * top. Nothing else of the emulator's own environment is passed on, so its tokens and secrets never reach
 * a job. When `python` (or `pip`) is missing but `python3` (`pip3`) exists, an alias folder is put first
 * on PATH, so `python train.py` works on machines that only ship `python3`, even inside a shell script.
 */
export async function buildJobEnv(spec: JobSpec, options: JobEnvOptions): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    PATH: options.basePath ?? process.env.PATH ?? FALLBACK_PATH,
    HOME: options.home,
    LANG: "C.UTF-8",
    // Python block-buffers a pipe; unbuffered output keeps log lines live and in the order written.
    PYTHONUNBUFFERED: "1",
  };
  for (const variable of spec.envVars ?? []) env[variable.name] = String(variable.value);

  const searchPath = env.PATH ?? FALLBACK_PATH;
  let aliased = false;
  for (const [wanted, fallback] of ALIASES) {
    if (await findOnPath(wanted, searchPath)) continue;
    const target = await findOnPath(fallback, searchPath);
    if (!target) continue;
    await mkdir(options.aliasDir, { recursive: true });
    await symlink(target, path.join(options.aliasDir, wanted)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
    aliased = true;
  }
  if (aliased) env.PATH = `${options.aliasDir}:${searchPath}`;
  return env;
}
