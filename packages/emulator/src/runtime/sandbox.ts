/**
 * How a job's command is wrapped so it sees its working directory at `/workspace` and its volumes at their
 * mount paths, without touching the host's own mount table.
 *
 * - `unshare` (root): `unshare --mount --propagation private` runs a small POSIX shell script in a private
 *   mount namespace; the script bind-mounts the working directory on `/workspace`, each volume on its mount
 *   path (RO ones remounted read-only), then `exec`s the command. unshare runs without `--fork`, so the
 *   job keeps the pid and process group the emulator spawned, and signals to the group reach it.
 * - `bwrap` (bubblewrap, when installed and usable): the same mounts expressed as bwrap arguments. bwrap
 *   creates missing mount points itself, so the runtime checks before launching (see `checkMountPoints` in
 *   index.ts) that every mount point outside the job's own folders already exists on the host.
 * - `none`: no way to mount. A job without volumes still runs, with its working directory being the host
 *   folder `JOB_DIR/workspace` instead of `/workspace`; a job with volumes fails to start.
 *
 * Every user-supplied string (paths, command words) reaches the script as a positional argument and is only
 * ever expanded inside double quotes, so no value is ever parsed as shell code.
 */
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { findOnPath } from "./env.js";
import type { PreparedVolume } from "./types.js";

export type IsolationMethod = "unshare" | "bwrap" | "none";

/** The folder every job sees as its working directory when a mount namespace is available. */
export const WORKSPACE = "/workspace";

/** What to spawn: the wrapper program, its arguments and the cwd it starts in. */
export interface LaunchPlan {
  file: string;
  args: string[];
  cwd: string;
}

/**
 * The tail every method shares: check that the command can start, report on fd 3, and `exec` it with fd 3
 * closed. Reporting before `exec` lets the emulator tell "cannot start" (JobStartError) from "started and
 * failed" (a non-zero exit), which a shell's exit code 127 alone cannot. It sets no shell variable: any it
 * set would reach the command's environment, clobbering a job's variable of the same name.
 */
const CHECK_AND_EXEC = `
case $1 in
  */*) [ -e "$1" ] || fail ENOENT "$1"
       { [ -f "$1" ] && [ -x "$1" ]; } || fail EACCES "$1" ;;
  *) command -v -- "$1" >/dev/null 2>&1 || fail ENOENT "$1" ;;
esac
printf 'ok\\n' >&3
exec "$@" 3>&-
`;

/** Where the wrapper finds mount and mkdir, whatever PATH the job itself was given. */
const TOOLS_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

const FAIL = `fail() { printf '%s\\t%s\\n' "$1" "$2" >&3; exit 127; }
`;

/** The CREATE argument of a mount point the wrapper must not create (never a path: all are absolute). */
const NO_CREATE = "-";

/** Separates the mount arguments from the command; no mount argument can equal it (all are absolute). */
const END_OF_MOUNTS = "--";

/**
 * Mounts for the unshare method. Arguments: WORKDIR, COUNT then COUNT triples SOURCE TARGET CREATE, RO_COUNT
 * then RO_COUNT targets to make read-only, `--`, then the command. The mounts run in a subshell, whose
 * variables stay its own, and persist because the mount namespace is shared with it. Read-only remounts come
 * after every bind, so a volume may be mounted inside an RO one. A missing mount point is created by
 * `mkdir -p` only when CREATE is a folder: the job's own folder holding it (/workspace or another volume),
 * which the resolved path must stay inside so a symbolic link left in a workspace or a cached volume cannot
 * lead the mkdir onto the host, or `/` when the operator opted in with `--create-mount-points`. When CREATE
 * is `-` the host's folder must already exist, since creating it would leave it on the host for good.
 */
const UNSHARE_SCRIPT = `${FAIL}(
  PATH=${TOOLS_PATH}
  mount --bind "$1" ${WORKSPACE} || fail MOUNT ${WORKSPACE}
  n=$2; shift 2
  while [ "$n" -gt 0 ]; do
    if [ "$3" != ${NO_CREATE} ]; then
      case $(realpath -m -- "$2") in
        "$(realpath -m -- "$3")"|"$(realpath -m -- "$3")"/*) ;;
        *) [ "$3" = / ] || fail ESCAPE "$2" ;;
      esac
      mkdir -p "$2" || fail MKDIR "$2"
    fi
    [ -d "$2" ] || fail NOMOUNTPOINT "$2"
    mount --bind "$1" "$2" || fail MOUNT "$2"
    shift 3; n=$((n - 1))
  done
  n=$1; shift
  while [ "$n" -gt 0 ]; do
    mount -o remount,bind,ro "$1" || fail REMOUNT "$1"
    shift; n=$((n - 1))
  done
) || exit 127
while [ "$1" != ${END_OF_MOUNTS} ]; do shift; done
shift
cd ${WORKSPACE} || fail CD ${WORKSPACE}
${CHECK_AND_EXEC}`;

const PLAIN_SCRIPT = `${FAIL}${CHECK_AND_EXEC}`;

/** Folders a job's programs need from the host; a volume mounted on one would break every command. */
const SYSTEM_DIRS = new Set(["/bin", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/run", "/sbin", "/usr"]);

/**
 * Returns why `mountPath` cannot be mounted on this host, or undefined when it can. Mounting over the root
 * or a system folder would hide the programs the job itself needs, because jobs run on the host's files.
 */
export function refuseMountPath(mountPath: string): string | undefined {
  if (!mountPath.startsWith("/")) return "it is not an absolute path";
  if (mountPath.includes("\0")) return "it contains a NUL character";
  if (mountPath.split("/").includes("..")) return 'it contains a ".." segment';
  const normal = normalizeMountPath(mountPath);
  if (normal === "/") return "it is the root folder";
  for (const dir of ["/proc", "/sys", "/dev"]) {
    if (normal === dir || normal.startsWith(`${dir}/`)) return `it is inside ${dir}`;
  }
  if (SYSTEM_DIRS.has(normal)) return `it would hide the host's ${normal} folder, which jobs run on`;
  return undefined;
}

/** `/a//b/` and `/a/./b` both become `/a/b`. */
export function normalizeMountPath(mountPath: string): string {
  const normal = path.posix.normalize(mountPath);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}

/**
 * The folder the job owns, once its namespace is set up, that holds the mount point `mountPath`: /workspace
 * (the job's own working directory) or the mount path of another of its volumes (that volume's own folder
 * in the data dir), the deepest one; undefined when there is none. Creating the mount point there changes
 * nothing on the host outside the data dir.
 */
export function jobFolderHolding(mountPath: string, otherMountPaths: readonly string[]): string | undefined {
  const normal = normalizeMountPath(mountPath);
  const holders = [WORKSPACE, ...otherMountPaths.map(normalizeMountPath)].filter(
    (dir) => normal.startsWith(`${dir}/`) || (dir === WORKSPACE && normal === WORKSPACE),
  );
  return holders.sort((a, b) => b.length - a.length)[0];
}

/** An isolation method with the absolute path of its program, so a job's own PATH cannot change it. */
export interface Isolation {
  method: IsolationMethod;
  program?: string;
}

let detected: Promise<Isolation> | undefined;

/** Finds, once per process, the best way this host offers to give a job its own mounts. */
export function detectIsolation(): Promise<Isolation> {
  detected ??= (async () => {
    const unshare = await findIsolationProgram("unshare");
    const asRoot = process.getuid?.() === 0;
    if (asRoot && unshare && (await succeeds(unshare, ["--mount", "--propagation", "private", "true"]))) {
      return { method: "unshare", program: unshare };
    }
    const bwrap = await findIsolationProgram("bwrap");
    if (bwrap && (await succeeds(bwrap, ["--dev-bind", "/", "/", "true"]))) {
      return { method: "bwrap", program: bwrap };
    }
    return { method: "none" };
  })();
  return detected;
}

/** Resolves `method` (as the emulator's options ask for it) to its program, without probing it. */
export async function isolationFor(method: IsolationMethod): Promise<Isolation> {
  if (method === "none") return { method };
  const program = await findIsolationProgram(method);
  return program ? { method, program } : { method };
}

function findIsolationProgram(name: string): Promise<string | undefined> {
  return findOnPath(name, `${process.env.PATH ?? ""}:${TOOLS_PATH}`);
}

function succeeds(file: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 5000 }, (error) => resolve(!error));
  });
}

/**
 * Builds the spawn plan for `command` with the job's working directory `workDir` and `volumes` (already
 * checked by `refuseMountPath`). Volumes are mounted parents first so `/data` does not hide `/data/sub`.
 * A missing mount point outside the job's own folders is created only when `createMountPoints` is true.
 */
export async function planLaunch(
  isolation: Isolation,
  workDir: string,
  volumes: PreparedVolume[],
  command: string[],
  createMountPoints = false,
): Promise<LaunchPlan> {
  const ordered = [...volumes].sort(
    (a, b) =>
      normalizeMountPath(a.mountPath).split("/").length - normalizeMountPath(b.mountPath).split("/").length,
  );
  const { method, program = method } = isolation;
  if (method === "unshare") {
    // The one folder the runtime creates outside its data dir, once: an empty mount point that inside each
    // job's namespace the job's own folder covers.
    await mkdir(WORKSPACE, { recursive: true });
    const mountPaths = ordered.map((v) => v.mountPath);
    const binds = ordered.flatMap((v) => [
      v.hostPath,
      normalizeMountPath(v.mountPath),
      jobFolderHolding(v.mountPath, mountPaths) ?? (createMountPoints ? "/" : NO_CREATE),
    ]);
    const readOnly = ordered.filter((v) => v.permission === "RO").map((v) => normalizeMountPath(v.mountPath));
    return {
      file: program,
      args: [
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        UNSHARE_SCRIPT,
        "sh",
        workDir,
        String(ordered.length),
        ...binds,
        String(readOnly.length),
        ...readOnly,
        END_OF_MOUNTS,
        ...command,
      ],
      cwd: workDir,
    };
  }
  if (method === "bwrap") {
    const mounts = [
      ...ordered.flatMap((v) => ["--bind", v.hostPath, normalizeMountPath(v.mountPath)]),
      ...ordered
        .filter((v) => v.permission === "RO")
        .flatMap((v) => ["--remount-ro", normalizeMountPath(v.mountPath)]),
    ];
    return {
      file: program,
      args: [
        "--dev-bind",
        "/",
        "/",
        "--bind",
        workDir,
        WORKSPACE,
        ...mounts,
        "--chdir",
        WORKSPACE,
        "--",
        "/bin/sh",
        "-c",
        PLAIN_SCRIPT,
        "sh",
        ...command,
      ],
      cwd: workDir,
    };
  }
  if (volumes.length > 0) throw new Error("no isolation method can mount volumes");
  return { file: "/bin/sh", args: ["-c", PLAIN_SCRIPT, "sh", ...command], cwd: workDir };
}
