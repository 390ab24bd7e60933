/**
 * The emulator's command-line commands, shared by `ai-training emulator|data ...` (the CLI imports
 * this module) and the emulator's own entry `main.js`. Each returns the exit code: 0 success,
 * 1 failure, 2 bad usage or input.
 */
import { randomBytes } from "node:crypto";
import { rmSync, type Stats, statSync } from "node:fs";
import path from "node:path";
import { flag, numberFlag, type ParsedArgs, parseArgs, UsageError } from "./args.js";
import {
  downloadObjects,
  listObjects,
  ObjectStorageError,
  type StoredObject,
  uploadObjects,
} from "./data/objectStorage.js";
import { DEFAULT_SLOTS, DEFAULT_STOP_GRACE_MS, type EmulatorOptions, startEmulator } from "./emulator.js";
import type { FaultOptions } from "./server/faults.js";

/** Env var the clients read their token from; the emulator accepts it when no --token is given. */
export const TOKEN_ENV = "OVH_AI_TRAINING_TOKEN";

/** Env var holding a read-only token the emulator accepts when no --read-token is given (kept out of `ps`). */
export const READ_TOKEN_ENV = "OVH_AI_TRAINING_READ_TOKEN";

/** Env var naming the data folder for `data` commands (and the emulator when `--data-dir` is absent). */
export const DATA_DIR_ENV = "OVH_AI_TRAINING_DATA_DIR";

const EMULATOR_USAGE = `Usage: ai-training emulator [options]

Runs a local emulator of the OVHcloud AI Training API that really runs jobs' commands on this host.
Prints "listening on http://HOST:PORT" once it accepts requests, then "token: T" if it made the token.

Options:
  --host HOST              address to listen on (default 127.0.0.1; others need --allow-remote)
  --port N                 port, 0 for a free one (default 0)
  --data-dir DIR           where jobs, logs and Object Storage live (default $${DATA_DIR_ENV}, else a new
                           temporary folder, removed when the emulator exits on SIGINT, SIGTERM or stdin close)
  --token T                an operator token (repeatable); without one, $${TOKEN_ENV} is used,
                           else one is generated and printed
  --read-token T           a read-only token (repeatable); without one, $${READ_TOKEN_ENV} is used
                           Tokens given as flags are visible to every user of this host in \`ps\`;
                           prefer the environment variables
  --slots N                jobs that may run at once; the others wait in QUEUED (default ${DEFAULT_SLOTS})
  --image IMAGE=DIR        the files of DIR are what IMAGE holds in /workspace (repeatable); images are never pulled
  --create-mount-points    create a volume's missing mountPath outside /workspace on the host (the empty
                           folder stays there); without it such a job fails to start saying what to do
  --stop-grace-ms N        grace between SIGTERM and SIGKILL when a job is stopped (default ${DEFAULT_STOP_GRACE_MS})
  --fault-rate-429 R       share (0..1) of requests answered 429 (fault injection, default 0)
  --fault-rate-503 R       share (0..1) of requests answered 503 (default 0)
  --fault-latency-ms N     milliseconds added to every request (default 0)
  --fault-drop-rate R      share (0..1) of connections dropped without an answer (default 0)
  --fault-seed N           seed of the fault sequence (default 1)
  --fault-retry-after S    seconds announced in Retry-After on injected 429/503 (default 1)
  --allow-remote           allow a --host that is not loopback (no TLS: tokens would cross the network)
  --log-level LEVEL        log requests on stderr at this level (info, debug...); quiet by default
  --stop-on-stdin-close    stop as on SIGTERM when stdin closes (a parent that dies leaves no emulator behind)
  --help                   show this help

A job that reaches its timeout goes TIMEOUT, FINALIZING, then INTERRUPTED with status.info.code "TIMEOUT".

Stopping: SIGINT or SIGTERM (or stdin closing, with --stop-on-stdin-close) interrupts active jobs, stores
them and exits 0: a stop that was asked for and went well is a success, not 130 or 143. A second signal
while stopping exits at once with 1, its job processes killed; an error while stopping also exits 1.

Exit codes: 0 stopped cleanly, 1 could not start or stop cleanly, 2 bad usage or input.`;

const DATA_USAGE = `Usage:
  ai-training data upload ALIAS CONTAINER PATH... [--prefix P] [--data-dir DIR] [--output json]
  ai-training data download ALIAS CONTAINER [DEST] [--prefix P] [--data-dir DIR] [--output json]
  ai-training data list ALIAS CONTAINER [--prefix P] [--data-dir DIR] [--output json]

Moves files in and out of the emulator's Object Storage, the folder DATA_DIR/object-storage/ALIAS/CONTAINER/.
DATA_DIR is --data-dir, else $${DATA_DIR_ENV}. upload: a file becomes PREFIX/its name, a folder's files
become PREFIX/their path inside it. download: objects under PREFIX land in DEST (default .) by name.`;

const EMULATOR_FLAGS = {
  host: { value: true },
  port: { value: true },
  "data-dir": { value: true },
  token: { value: true, repeat: true },
  "read-token": { value: true, repeat: true },
  slots: { value: true },
  image: { value: true, repeat: true },
  "stop-grace-ms": { value: true },
  "fault-rate-429": { value: true },
  "fault-rate-503": { value: true },
  "fault-latency-ms": { value: true },
  "fault-drop-rate": { value: true },
  "fault-seed": { value: true },
  "fault-retry-after": { value: true },
  "allow-remote": { value: false },
  "log-level": { value: true },
  "stop-on-stdin-close": { value: false },
  "create-mount-points": { value: false },
  help: { value: false },
} as const;

/** Turns the emulator's command line into options; throws UsageError naming the bad flag. */
export function emulatorOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): EmulatorOptions {
  const args = parseArgs(argv, EMULATOR_FLAGS);
  if (args.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument '${args.positionals[0]}'; the emulator takes only options (see --help)`,
    );
  }
  const images: Record<string, string> = {};
  for (const item of args.flags.get("image") ?? []) {
    const eq = item.lastIndexOf("=");
    if (eq <= 0 || eq === item.length - 1) {
      throw new UsageError(`--image '${item}' must be IMAGE=DIR, e.g. --image python:3.11=./my-code`);
    }
    const dir = path.resolve(item.slice(eq + 1));
    const found = statOrUndefined(dir);
    if (!found?.isDirectory()) {
      throw new UsageError(
        `--image '${item}': ${dir} ${found ? "is not a folder" : "does not exist"}; DIR must be a folder ` +
          "holding the files the image has in /workspace",
      );
    }
    images[item.slice(0, eq)] = dir;
  }
  const faults: FaultOptions = {
    rate429: numberFlag(args, "fault-rate-429", { min: 0, max: 1 }) ?? 0,
    rate503: numberFlag(args, "fault-rate-503", { min: 0, max: 1 }) ?? 0,
    dropRate: numberFlag(args, "fault-drop-rate", { min: 0, max: 1 }) ?? 0,
    latencyMs: numberFlag(args, "fault-latency-ms", { min: 0, max: 600_000, integer: true }) ?? 0,
    seed: numberFlag(args, "fault-seed", { min: 0, max: 2 ** 32 - 1, integer: true }) ?? 1,
    retryAfterSeconds: numberFlag(args, "fault-retry-after", { min: 0, max: 3600, integer: true }) ?? 1,
  };
  if (faults.rate429 + faults.rate503 + faults.dropRate > 1) {
    throw new UsageError("--fault-rate-429, --fault-rate-503 and --fault-drop-rate must add up to 1 or less");
  }
  const tokens = args.flags.get("token") ?? [];
  const readTokens = args.flags.get("read-token") ?? [];
  for (const token of [...tokens, ...readTokens]) {
    if (token.trim() === "" || /\s/.test(token))
      throw new UsageError("a --token or --read-token must be non-empty and hold no spaces");
  }
  const options: EmulatorOptions = {
    host: flag(args, "host") ?? "127.0.0.1",
    port: numberFlag(args, "port", { min: 0, max: 65535, integer: true }) ?? 0,
    operatorTokens: tokens,
    readTokens,
    slots: numberFlag(args, "slots", { min: 1, max: 1024, integer: true }) ?? DEFAULT_SLOTS,
    images,
    faults,
    stopGraceMs:
      numberFlag(args, "stop-grace-ms", { min: 0, max: 3_600_000, integer: true }) ?? DEFAULT_STOP_GRACE_MS,
    allowRemote: args.flags.has("allow-remote"),
    createMountPoints: args.flags.has("create-mount-points"),
  };
  const dataDir = flag(args, "data-dir") ?? env[DATA_DIR_ENV];
  if (dataDir) options.dataDir = path.resolve(dataDir);
  const logLevel = flag(args, "log-level");
  if (logLevel) {
    if (!["fatal", "error", "warn", "info", "debug", "trace"].includes(logLevel)) {
      throw new UsageError(
        `--log-level must be one of fatal, error, warn, info, debug, trace (got '${logLevel}')`,
      );
    }
    options.logLevel = logLevel;
  }
  return options;
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** The token held by env var `name`, or undefined when it is unset or empty; a token with spaces is refused. */
function tokenFromEnv(name: string): string | undefined {
  const value = process.env[name]?.trim();
  if (!value) return undefined;
  if (/\s/.test(value)) throw new UsageError(`$${name} must hold one token with no spaces`);
  return value;
}

/**
 * `ai-training emulator`: runs the emulator until SIGINT or SIGTERM, then interrupts active jobs,
 * stores everything and returns 0 (1 when stopping failed; a second signal exits the process with 1).
 */
export async function emulatorCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${EMULATOR_USAGE}\n`);
    return 0;
  }
  let options: EmulatorOptions;
  try {
    options = emulatorOptions(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`ai-training emulator: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const stopWithStdin = argv.includes("--stop-on-stdin-close");
  // A parent that died takes the read end of our stdout/stderr with it: EPIPE on a status line must not
  // crash the emulator halfway through stopping its jobs and removing its temporary folder.
  process.stdout.on("error", () => undefined);
  process.stderr.on("error", () => undefined);
  let generatedToken: string | undefined;
  let envToken: string | undefined;
  let envReadToken: string | undefined;
  try {
    envToken = tokenFromEnv(TOKEN_ENV);
    envReadToken = tokenFromEnv(READ_TOKEN_ENV);
  } catch (error) {
    process.stderr.write(`ai-training emulator: ${(error as Error).message}\n`);
    return 2;
  }
  if (options.readTokens?.length === 0 && envReadToken) {
    options.readTokens = [envReadToken];
    process.stderr.write(`read token: taken from ${READ_TOKEN_ENV}\n`);
  }
  if (options.operatorTokens.length === 0 && envToken) {
    options.operatorTokens = [envToken];
    process.stderr.write(`operator token: taken from ${TOKEN_ENV}\n`);
  } else if (options.operatorTokens.length === 0) {
    generatedToken = randomBytes(24).toString("base64url");
    options.operatorTokens = [generatedToken];
  }

  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator(options);
  } catch (error) {
    process.stderr.write(
      `ai-training emulator: cannot start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return error instanceof Error && /refusing to listen/.test(error.message) ? 2 : 1;
  }
  // The handlers go in before "listening on" is printed: a parent may signal as soon as it reads that line,
  // and a signal with no handler yet would kill the emulator without stopping its jobs or cleaning up.
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string, again: string) => {
      if (stopping) {
        process.stderr.write(`${again}; exiting now\n`);
        // Job processes are killed by the runtime's exit hook; a folder this emulator made goes too.
        if (emulator.temporary) rmSync(emulator.dataDir, { recursive: true, force: true });
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`${why}: interrupting active jobs and stopping\n`);
      emulator.close().then(
        () => resolve(0),
        (error: unknown) => {
          process.stderr.write(
            `error while stopping: ${error instanceof Error ? error.message : String(error)}\n`,
          );
          resolve(1);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals) =>
      stop(`received ${signal}`, `received ${signal} again while stopping`);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    if (stopWithStdin) {
      // The parent holds our stdin open; when it dies, even by SIGKILL, the pipe closes and we stop.
      process.stdin.on("data", () => undefined);
      process.stdin.once("close", () => {
        if (!stopping) stop("stdin closed (the parent process went away)", "stdin closed");
      });
    }
  });
  // Written before "listening on", so a parent that waits for that line may already know the folder.
  process.stderr.write(
    `data dir${emulator.temporary ? " (temporary, removed on exit)" : ""}: ${emulator.dataDir}\n`,
  );
  process.stdout.write(`listening on ${emulator.url}\n`);
  if (generatedToken) process.stdout.write(`token: ${generatedToken}\n`);
  if (emulator.recovered > 0) {
    process.stderr.write(
      `marked ${emulator.recovered} job(s) ERROR: they were active when the emulator last stopped\n`,
    );
  }
  return await stopped;
}

const DATA_FLAGS = {
  prefix: { value: true },
  "data-dir": { value: true },
  output: { value: true },
  help: { value: false },
} as const;

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function printObjects(
  objects: StoredObject[],
  verb: string,
  json: boolean,
  extra: Record<string, unknown>,
): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...extra, objects })}\n`);
    return;
  }
  if (verb === "list") {
    for (const o of objects)
      process.stdout.write(`${o.lastModified}  ${formatSize(o.size).padStart(10)}  ${o.name}\n`);
    process.stdout.write(`${objects.length} object(s)\n`);
    return;
  }
  for (const o of objects) process.stdout.write(`${verb} ${o.name} (${formatSize(o.size)})\n`);
  process.stdout.write(`${objects.length} object(s) ${verb}\n`);
}

/** `ai-training data upload|download|list ALIAS CONTAINER ...` on the emulator's Object Storage. */
export async function dataCommand(argv: readonly string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, DATA_FLAGS);
    if (args.flags.has("help") || args.positionals.length === 0) {
      process.stdout.write(`${DATA_USAGE}\n`);
      return args.flags.has("help") ? 0 : 2;
    }
    const [verb, alias, container, ...rest] = args.positionals;
    if (!["upload", "download", "list"].includes(verb as string)) {
      throw new UsageError(`unknown data command '${verb}'; use upload, download or list`);
    }
    if (!alias || !container)
      throw new UsageError(`data ${verb} needs ALIAS and CONTAINER, e.g. data ${verb} GRA my-data`);
    const output = flag(args, "output");
    if (output !== undefined && output !== "json" && output !== "table") {
      throw new UsageError(`--output must be json or table (got '${output}')`);
    }
    const json = output === "json";
    const dataDir = flag(args, "data-dir") ?? process.env[DATA_DIR_ENV];
    if (!dataDir) {
      throw new UsageError(
        `no data folder: pass --data-dir DIR or set ${DATA_DIR_ENV} (the emulator's --data-dir)`,
      );
    }
    const root = path.resolve(dataDir);
    const prefix = flag(args, "prefix");
    const where = { alias, container, ...(prefix ? { prefix } : {}) };
    if (verb === "upload") {
      if (rest.length === 0) throw new UsageError("data upload needs at least one PATH to upload");
      printObjects(await uploadObjects(root, alias, container, rest, prefix), "uploaded", json, where);
    } else if (verb === "download") {
      if (rest.length > 1) throw new UsageError("data download takes one DEST folder");
      const destination = path.resolve(rest[0] ?? ".");
      const objects = await downloadObjects(root, alias, container, destination, prefix);
      printObjects(objects, "downloaded", json, { ...where, destination });
    } else {
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' for data list`);
      printObjects(await listObjects(root, alias, container, prefix), "list", json, where);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ObjectStorageError) {
      process.stderr.write(`ai-training data: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`ai-training data: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
