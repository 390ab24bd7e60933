/**
 * `ai-training`: finds the command, parses its flags, runs it, and turns any error into a message that
 * says what to do next and an exit code (0 success, 1 job failed, 2 bad usage or input, 3 API,
 * authentication or connection error).
 */
import {
  describeFlags,
  EXIT,
  type FlagSpecs,
  GLOBAL_FLAGS,
  type Parsed,
  parseArgs,
  UsageError,
} from "./args.js";
import type { Context } from "./context.js";

interface Command {
  usage: string;
  summary: string;
  flags: FlagSpecs;
  /** Extra help text after the flags. */
  notes?: string;
  run(ctx: Context): Promise<number>;
}

const job = () => import("./commands/job.js");
const account = () => import("./commands/account.js");

const WAIT_FLAGS: FlagSpecs = {
  interval: {
    type: "number",
    value: "SECONDS",
    help: "seconds between two reads of the job, e.g. 0.5 (default 2); every state change is shown either way",
  },
};

const COMMANDS: Record<string, Command> = {
  "job submit": {
    usage: "ai-training job submit --image IMAGE [options] [-- COMMAND ARGS...]",
    summary: "submit a job (the command to run goes after --)",
    flags: {
      image: { type: "string", value: "IMAGE", help: "Docker image to run (required)" },
      name: { type: "string", value: "NAME", help: "job name (generated when absent)" },
      flavor: {
        type: "string",
        value: "FLAVOR",
        help: "flavor id, e.g. ai1-1-gpu (see `ai-training flavor list`)",
      },
      gpu: { type: "integer", value: "N", help: "number of GPUs (units of the flavor)" },
      "gpu-model": {
        type: "string",
        value: "MODEL",
        help: "GPU model, e.g. V100S: picks the flavor with that model, or checks --flavor has it",
      },
      cpu: { type: "integer", value: "N", help: "number of CPUs" },
      env: { type: "list", value: "KEY=VALUE", help: "environment variable" },
      volume: {
        type: "list",
        value: "SPEC",
        help: "CONTAINER@ALIAS[/PREFIX]:MOUNT_PATH[:ro|rw|rwd][:cache], e.g. data@GRA:/workspace/data:ro",
      },
      label: { type: "list", value: "KEY=VALUE", help: "label (keys may not start with ovh/)" },
      "ssh-key": { type: "list", value: "PUBLIC_KEY", help: "SSH public key for access while RUNNING" },
      "http-port": { type: "integer", value: "PORT", help: "port served at the job's URL (default 8080)" },
      timeout: {
        type: "integer",
        value: "SECONDS",
        help: "stop the job after this long RUNNING (default 7 days)",
      },
      "unsecure-http": { type: "boolean", help: "make the job's URL reachable without a token" },
      wait: { type: "boolean", help: "wait for the job to end; exit 1 if it does not end DONE" },
      "wait-timeout": {
        type: "integer",
        value: "SECONDS",
        help: "with --wait, give up waiting after this long",
      },
      ...WAIT_FLAGS,
    },
    notes:
      "--gpu-model: the API takes no GPU model in a request (it is read-only in answers), so the model\n" +
      "chooses the flavor: without --flavor, the flavor whose GPU model matches (the default one first);\n" +
      "with --flavor, it must match that flavor's model. Unknown models are refused with the valid list.",
    run: async (ctx) => (await job()).submit(ctx),
  },
  "job get": {
    usage: "ai-training job get JOB_ID",
    summary: "show a job: spec, state, exit code, history",
    flags: {},
    run: async (ctx) => (await job()).get(ctx),
  },
  "job list": {
    usage: "ai-training job list [options]",
    summary: "list jobs (one page; --all for every page)",
    flags: {
      state: { type: "list", value: "STATE", help: "only jobs in this state (repeat or comma-separate)" },
      label: { type: "list", value: "KEY=VALUE", help: "only jobs with this label (all must match)" },
      user: { type: "string", value: "NAME", help: "only jobs of this user" },
      "updated-after": { type: "string", value: "ISO_DATE", help: "only jobs updated after this instant" },
      "updated-before": { type: "string", value: "ISO_DATE", help: "only jobs updated before this instant" },
      sort: { type: "string", value: "FIELD", help: "createdAt, updatedAt, name or state" },
      order: { type: "string", value: "ORDER", help: "asc or desc" },
      page: { type: "integer", value: "N", help: "page number, from 1" },
      size: { type: "integer", value: "N", help: "jobs per page, 1 to 1000" },
      all: { type: "boolean", help: "read every page" },
    },
    run: async (ctx) => (await job()).list(ctx),
  },
  "job wait": {
    usage: "ai-training job wait JOB_ID [options]",
    summary: "wait for a job to reach a target state, showing each state change",
    flags: {
      target: { type: "list", value: "STATE", help: "state that ends the wait well (default DONE)" },
      failure: {
        type: "list",
        value: "STATE",
        help: "state that fails the wait (default FAILED, ERROR, INTERRUPTED); any other final state fails too",
      },
      timeout: {
        type: "integer",
        value: "SECONDS",
        help: "give up waiting after this long (the job keeps running)",
      },
      ...WAIT_FLAGS,
    },
    run: async (ctx) => (await job()).wait(ctx),
  },
  "job logs": {
    usage: "ai-training job logs JOB_ID [--tail N] [--follow]",
    summary: "print a job's output",
    flags: {
      tail: { type: "integer", value: "N", help: "only the last N lines" },
      follow: { type: "boolean", help: "keep printing new lines until the job ends" },
    },
    run: async (ctx) => (await job()).logs(ctx),
  },
  "job stop": {
    usage: "ai-training job stop JOB_ID",
    summary: "ask a running job to stop (it ends INTERRUPTED; a job that already ended is left as it is)",
    flags: {},
    run: async (ctx) => (await job()).stop(ctx),
  },
  "job delete": {
    usage: "ai-training job delete JOB_ID [--force]",
    summary: "delete a job",
    flags: { force: { type: "boolean", help: "also delete a job that has not ended (it is stopped first)" } },
    run: async (ctx) => (await job()).remove(ctx),
  },
  "job start": {
    usage: "ai-training job start JOB_ID",
    summary: "restart a job that has ended (it goes back to QUEUED)",
    flags: {},
    run: async (ctx) => (await job()).start(ctx),
  },
  "job label": {
    usage: "ai-training job label JOB_ID KEY=VALUE | ai-training job label JOB_ID KEY --remove",
    summary: "set or remove one label of a job",
    flags: { remove: { type: "boolean", help: "remove the label KEY instead of setting it" } },
    run: async (ctx) => (await job()).label(ctx),
  },
  "flavor list": {
    usage: "ai-training flavor list",
    summary: "list the flavors a job may ask for",
    flags: {},
    run: async (ctx) => (await account()).flavorList(ctx),
  },
  me: {
    usage: "ai-training me",
    summary: "show who the token belongs to and its role",
    flags: {},
    run: async (ctx) => (await account()).me(ctx),
  },
};

const EXIT_CODES = `Exit codes:
  0  success
  1  the job ended in a failure state, or a wait timed out before a target state
  2  bad usage or input (nothing was sent)
  3  API, authentication or connection error`;

const ENVIRONMENT = `Environment:
  OVH_AI_TRAINING_TOKEN     AI token (instead of --token, which shows in the process list)
  OVH_AI_TRAINING_REGION    gra (default) or bhs
  OVH_AI_TRAINING_ENDPOINT  API base URL, e.g. a local emulator's http://127.0.0.1:PORT`;

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
  const lines = Object.entries(COMMANDS).map(([name, cmd]) => `  ${name.padEnd(width)}${cmd.summary}`);
  lines.push(`  ${"emulator".padEnd(width)}run the local emulator of the API (ai-training emulator --help)`);
  lines.push(
    `  ${"data".padEnd(width)}move files in and out of the emulator's Object Storage (ai-training data --help)`,
  );
  return `ai-training: run OVHcloud AI Training jobs from the command line

Usage: ai-training COMMAND [options]

Commands:
${lines.join("\n")}

Global options:
${describeFlags({ ...GLOBAL_FLAGS, version: { type: "boolean", help: "print the version" } })}

${ENVIRONMENT}

${EXIT_CODES}

Run \`ai-training COMMAND --help\` for a command's options.`;
}

function commandHelp(name: string, cmd: Command): string {
  const own = Object.keys(cmd.flags).length > 0 ? `Options:\n${describeFlags(cmd.flags)}\n\n` : "";
  const notes = cmd.notes ? `${cmd.notes}\n\n` : "";
  return `ai-training ${name}: ${cmd.summary}

Usage: ${cmd.usage}

${own}${notes}Global options:
${describeFlags(GLOBAL_FLAGS)}

${ENVIRONMENT}

${EXIT_CODES}`;
}

/** Runs the command line; returns the exit code, or `undefined` when a long-running command owns the process. */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  const [first, second] = argv;
  if (first === "emulator" || first === "data") return delegate(first, argv.slice(1));
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(`${mainHelp()}\n`);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === "--version" || first === "-V") {
    const { readFileSync } = await import("node:fs");
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    process.stdout.write(`ai-training ${pkg.version}\n`);
    return EXIT.ok;
  }
  const twoWords = `${first} ${second ?? ""}`.trim();
  const name = COMMANDS[twoWords] ? twoWords : COMMANDS[first] ? first : undefined;
  if (name === undefined) {
    const group = Object.keys(COMMANDS).filter((key) => key.startsWith(`${first} `));
    const hint =
      group.length > 0 ? `${first} takes: ${group.map((key) => key.split(" ")[1]).join(", ")}` : "";
    process.stderr.write(
      `error: unknown command ${JSON.stringify(twoWords)}${hint ? `; ${hint}` : ""}. Run \`ai-training --help\` for the commands.\n`,
    );
    return EXIT.usage;
  }
  const cmd = COMMANDS[name] as Command;
  // `ai-training job logs ID --follow | head` closes the pipe early: that is the reader being done, not a failure.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(EXIT.ok);
    throw error;
  });
  const rest = argv.slice(name.split(" ").length);
  let token: string | undefined;
  let parsed: Parsed | undefined;
  try {
    parsed = parseArgs(rest, cmd.flags, name);
    token = (parsed.flags.token as string | undefined) ?? process.env.OVH_AI_TRAINING_TOKEN;
    if (parsed.flags.help) {
      process.stdout.write(`${commandHelp(name, cmd)}\n`);
      return EXIT.ok;
    }
    const { makeContext } = await import("./context.js");
    return await cmd.run(makeContext(parsed));
  } catch (error) {
    return reportError(error, name, token, parsed);
  }
}

/** The endpoint in use (flag or environment), when one replaces the region's URL. */
function endpointOf(parsed: Parsed | undefined): string | undefined {
  const endpoint = (parsed?.flags.endpoint as string | undefined) ?? process.env.OVH_AI_TRAINING_ENDPOINT;
  return endpoint === "" ? undefined : endpoint;
}

function parseUrl(text: string | undefined): URL | undefined {
  if (text === undefined) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** The command-line way out of an API refusal, where the API's own words name API paths. */
function nextStep(command: string, status: number, parsed: Parsed | undefined): string | undefined {
  const id = parsed?.positionals[0] ?? "JOB_ID";
  if (status === 404) {
    // An endpoint with a path (a proxy prefix, or a mistake) makes every call a 404 that looks like a
    // missing job: say so first, since no job id can fix it.
    const endpoint = endpointOf(parsed);
    const url = parseUrl(endpoint);
    if (url && url.pathname.replace(/\/+$/, "") !== "") {
      const orJob = command.startsWith("job ")
        ? ", and check the job id with `ai-training job list --all`"
        : "";
      return (
        `the endpoint ${endpoint} has a path (${url.pathname}); --endpoint (or OVH_AI_TRAINING_ENDPOINT) must be ` +
        `the API's base URL, which /v1/... is added to, e.g. ${url.origin}. Keep the path only if a proxy ` +
        `serves the API under it${orJob}`
      );
    }
  }
  if (status === 400 && command === "job delete") {
    return `Stop it first (ai-training job stop ${id}), or delete it anyway with: ai-training job delete ${id} --force`;
  }
  if (status === 400 && command === "job start") {
    return `Only an ended job can be restarted: wait for it (ai-training job wait ${id}) or stop it (ai-training job stop ${id})`;
  }
  if (status === 400 && command === "job submit") {
    return "See `ai-training flavor list` for flavors and their limits, and `ai-training job submit --help` for the flags";
  }
  if (status === 404 && command.startsWith("job ")) {
    return "Find the job's id with `ai-training job list --all`, and check --region or --endpoint point where it was submitted";
  }
  if (status === 401)
    return "Set OVH_AI_TRAINING_TOKEN to a valid AI token for this region (or the token the emulator printed)";
  return undefined;
}

async function reportError(
  error: unknown,
  command: string,
  token: string | undefined,
  parsed: Parsed | undefined,
): Promise<number> {
  const { AITrainingError, APIError, ConnectionError, ValidationError } = await import("@ai-training/client");
  let code: number = EXIT.api;
  let message: string;
  if (error instanceof UsageError) {
    code = EXIT.usage;
    message = error.message;
  } else if (error instanceof ValidationError) {
    code = EXIT.usage;
    message = `${error.message}. Nothing was sent; fix it and run again (ai-training ${command} --help)`;
  } else if (error instanceof APIError) {
    const next = nextStep(command, error.status, parsed);
    message = next ? `${error.message}\nnext: ${next}` : error.message;
  } else if (error instanceof ConnectionError && command === "job submit" && !error.notSent) {
    // The connection broke after the request left: the job may exist, and a blind retry could run it twice.
    const labels = ((parsed?.flags.label as string[] | undefined) ?? []).map(
      (label) => ` --label ${/^[\w=.:/@-]+$/.test(label) ? label : JSON.stringify(label)}`,
    );
    message =
      `Could not reach ${error.endpoint} for ${error.request.method} ${error.request.path}: ${error.reason}. ` +
      "The request may have reached the server, so the job may have been created.\n" +
      `next: check with \`ai-training job list${labels.join("")}\`${labels.length > 0 ? " (its labels)" : ""} ` +
      "before submitting again (a unique --label on each submit makes it easy to find); then check the " +
      "network and the endpoint (--region, --endpoint, OVH_AI_TRAINING_ENDPOINT)";
  } else if (error instanceof ConnectionError) {
    message = error.message;
  } else if (error instanceof AITrainingError) {
    message = error.message;
  } else {
    message = `unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}. Please report it with the command you ran`;
  }
  // Belt and braces: the client never puts the token in a message, and nothing here may either.
  if (token && token.length > 0) message = message.split(token).join("[redacted]");
  process.stderr.write(`error: ${message}\n`);
  return code;
}

/** The emulator's own commands, loaded only when asked for so the rest of the command line stays light. */
async function delegate(which: "emulator" | "data", argv: string[]): Promise<number | undefined> {
  // A variable specifier keeps TypeScript from needing the emulator's types to build the command line.
  const specifier = "@ai-training/emulator/commands";
  let commands: {
    emulatorCommand(argv: string[]): Promise<unknown>;
    dataCommand(argv: string[]): Promise<unknown>;
  };
  try {
    commands = await import(specifier);
  } catch (error) {
    process.stderr.write(
      `error: the emulator is not available (${(error as Error).message}). Run \`npm ci && npm run build\` at the repo root.\n`,
    );
    return EXIT.api;
  }
  const result =
    which === "emulator" ? await commands.emulatorCommand(argv) : await commands.dataCommand(argv);
  return typeof result === "number" ? result : undefined;
}
