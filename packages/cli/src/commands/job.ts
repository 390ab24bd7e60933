/** The `job` commands: submit, get, list, wait, logs, stop, delete, start, label. */
import type { Job, JobSpec, JobState, ListJobsOptions } from "@ai-training/client";
import { splitKeyValue, UsageError } from "../args.js";
import type { Context } from "../context.js";
import { clock, details, elapsed, table } from "../output.js";
import { parseVolume } from "../volume.js";

function jobIdArg(ctx: Context, command: string): string {
  const [id, extra] = ctx.parsed.positionals;
  if (!id)
    throw new UsageError(
      `job ${command} needs a job id: ai-training job ${command} JOB_ID (find ids with \`ai-training job list\`)`,
    );
  if (extra !== undefined)
    throw new UsageError(`job ${command} takes one job id, got also ${JSON.stringify(extra)}`);
  return id;
}

function seconds(ctx: Context, flag: string): number | undefined {
  const value = ctx.parsed.flags[flag] as number | undefined;
  if (value !== undefined && value <= 0)
    throw new UsageError(`--${flag} must be a positive number of seconds, got ${value}`);
  return value;
}

/**
 * The states given to a repeatable `--FLAG STATE` (comma-separated too), upper-cased and checked against
 * the lifecycle module, so a misspelt state is refused before anything is sent.
 */
async function statesFlag(ctx: Context, flag: string): Promise<string[] | undefined> {
  const given = ctx.parsed.flags[flag] as string[] | undefined;
  if (given === undefined) return undefined;
  const { isKnownState, KNOWN_JOB_STATES } = await import("@ai-training/client");
  const states = given.flatMap((text) => text.split(",")).map((text) => text.trim().toUpperCase());
  for (const state of states) {
    if (!isKnownState(state)) {
      throw new UsageError(
        `--${flag} ${JSON.stringify(state)} is not a job state (allowed: ${KNOWN_JOB_STATES.join(", ")})`,
      );
    }
  }
  return states;
}

function jobRow(job: Job): unknown[] {
  return [job.id, job.spec?.name, job.status?.state, job.spec?.image, job.createdAt];
}

const JOB_HEADERS = ["ID", "NAME", "STATE", "IMAGE", "CREATED"];

function printJob(ctx: Context, job: Job): void {
  if (ctx.json) {
    ctx.out(JSON.stringify(job, null, 2));
    return;
  }
  const { spec, status } = job;
  const resources = spec.resources ?? {};
  ctx.out(
    details([
      ["id", job.id],
      ["name", spec.name],
      ["state", status.state],
      ["image", spec.image],
      ["command", spec.command?.map((part) => (/\s/.test(part) ? JSON.stringify(part) : part)).join(" ")],
      ["flavor", resources.flavor],
      [
        "gpu",
        resources.gpu ? `${resources.gpu}${resources.gpuModel ? ` x ${resources.gpuModel}` : ""}` : undefined,
      ],
      ["cpu", resources.cpu],
      [
        "labels",
        Object.entries(spec.labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(", "),
      ],
      [
        "volumes",
        (spec.volumes ?? [])
          .map((v) => {
            const store = v.dataStore ?? v.volumeSource?.dataStore;
            const source = store
              ? `${store.container}@${store.alias}`
              : v.publicGit
                ? v.publicGit.url
                : "scratch";
            return `${source}:${v.mountPath}:${v.permission ?? "RO"}`;
          })
          .join(", "),
      ],
      ["created", job.createdAt],
      ["started", status.startedAt],
      ["finalized", status.finalizedAt],
      ["exit code", status.exitCode],
      [
        "info",
        status.info?.message
          ? `${status.info.code ? `${status.info.code}: ` : ""}${status.info.message}`
          : undefined,
      ],
      ["url", status.url],
    ]),
  );
  if (status.history?.length) {
    ctx.out(
      `\n${table(
        ["STATE", "DATE"],
        status.history.map((entry) => [entry.state, entry.date]),
      )}`,
    );
  }
}

/** `job submit`: builds a JobSpec from flags, checks it, submits it, and with --wait waits for the end. */
export async function submit(ctx: Context): Promise<number> {
  const { flags, positionals, rest } = ctx.parsed;
  if (positionals.length > 0) {
    throw new UsageError(
      `job submit takes no positional argument (got ${JSON.stringify(positionals[0])}); put the command after --, ` +
        "e.g. ai-training job submit --image python:3.12 -- python train.py",
    );
  }
  const image = flags.image as string | undefined;
  if (!image)
    throw new UsageError("--image is required: the Docker image to run, e.g. --image pytorch/pytorch:latest");
  const { buildEnvVars, buildVolume, resolveFlavorForGpuModel } = await import("@ai-training/client");
  const spec: JobSpec = { image };
  if (flags.name !== undefined) spec.name = flags.name as string;
  if (rest && rest.length > 0) spec.command = rest;
  const resources: NonNullable<JobSpec["resources"]> = {};
  if (flags.flavor !== undefined) resources.flavor = flags.flavor as string;
  if (flags.gpu !== undefined) resources.gpu = flags.gpu as number;
  if (flags.cpu !== undefined) resources.cpu = flags.cpu as number;
  const env = (flags.env as string[] | undefined) ?? [];
  if (env.length > 0)
    spec.envVars = buildEnvVars(Object.fromEntries(env.map((item) => splitKeyValue(item, "env"))));
  const volumes = (flags.volume as string[] | undefined) ?? [];
  if (volumes.length > 0) spec.volumes = volumes.map((text) => buildVolume(parseVolume(text)));
  const labels = (flags.label as string[] | undefined) ?? [];
  if (labels.length > 0) spec.labels = Object.fromEntries(labels.map((item) => splitKeyValue(item, "label")));
  const keys = (flags["ssh-key"] as string[] | undefined) ?? [];
  if (keys.length > 0) spec.sshPublicKeys = keys;
  if (flags["http-port"] !== undefined) spec.defaultHttpPort = flags["http-port"] as number;
  if (flags.timeout !== undefined) spec.timeout = flags.timeout as number;
  if (flags["unsecure-http"]) spec.unsecureHttp = true;
  const client = await ctx.client();
  if (flags["gpu-model"] !== undefined) {
    // The API takes no GPU model (it is read-only in answers): the model picks the flavor, or checks it.
    resources.flavor = resolveFlavorForGpuModel(
      await client.listFlavors(),
      flags["gpu-model"] as string,
      resources.flavor,
    );
  }
  if (Object.keys(resources).length > 0) spec.resources = resources;
  const job = await client.submitJob(spec);
  if (!flags.wait) {
    if (ctx.json) ctx.out(JSON.stringify(job, null, 2));
    else
      ctx.out(
        `Submitted job ${job.id}${job.spec?.name ? ` (${job.spec.name})` : ""}, state ${job.status.state}.\nFollow it with: ai-training job wait ${job.id}`,
      );
    return 0;
  }
  if (!ctx.json) ctx.out(`Submitted job ${job.id}${job.spec?.name ? ` (${job.spec.name})` : ""}.`);
  return waitAndReport(ctx, job.id, {
    interval: seconds(ctx, "interval"),
    timeout: seconds(ctx, "wait-timeout"),
  });
}

/** `job get ID`. */
export async function get(ctx: Context): Promise<number> {
  const id = jobIdArg(ctx, "get");
  printJob(ctx, await (await ctx.client()).getJob(id));
  return 0;
}

/** `job list`: one page by default, every page with --all. */
export async function list(ctx: Context): Promise<number> {
  const { flags } = ctx.parsed;
  const options: ListJobsOptions = {};
  const states = await statesFlag(ctx, "state");
  if (states) options.statusState = states;
  const labels = flags.label as string[] | undefined;
  if (labels) options.labelSelector = Object.fromEntries(labels.map((item) => splitKeyValue(item, "label")));
  if (flags.user !== undefined) options.userName = flags.user as string;
  if (flags.page !== undefined) options.page = flags.page as number;
  if (flags.size !== undefined) options.size = flags.size as number;
  if (flags.sort !== undefined) options.sort = flags.sort as ListJobsOptions["sort"];
  if (flags.order !== undefined) options.order = flags.order as ListJobsOptions["order"];
  if (flags["updated-after"] !== undefined) options.updatedAfter = flags["updated-after"] as string;
  if (flags["updated-before"] !== undefined) options.updatedBefore = flags["updated-before"] as string;
  const client = await ctx.client();
  let jobs: Job[];
  let footer = "";
  if (flags.all) {
    jobs = [];
    for await (const job of client.iterateJobs(options)) jobs.push(job);
  } else {
    const page = await client.listJobs(options);
    jobs = page.items;
    const meta = page.metadata;
    if (meta?.pageCount !== undefined && meta.pageCount > (meta.currentPage ?? 1)) {
      footer = `\nPage ${meta.currentPage ?? 1} of ${meta.pageCount} (${meta.total ?? "?"} jobs); next: --page ${(meta.currentPage ?? 1) + 1}, or --all`;
    }
  }
  if (ctx.json) {
    ctx.out(JSON.stringify(jobs, null, 2));
  } else if (jobs.length === 0) {
    ctx.out("No jobs match.");
  } else {
    ctx.out(table(JOB_HEADERS, jobs.map(jobRow)) + footer);
  }
  return 0;
}

/** `job wait ID`: shows each state change once, from the job's history, and ends with the final state. */
export async function wait(ctx: Context): Promise<number> {
  const id = jobIdArg(ctx, "wait");
  return waitAndReport(ctx, id, {
    targetStates: await statesFlag(ctx, "target"),
    failureStates: await statesFlag(ctx, "failure"),
    interval: seconds(ctx, "interval"),
    timeout: seconds(ctx, "timeout"),
  });
}

interface WaitArgs {
  targetStates?: JobState[] | undefined;
  failureStates?: JobState[] | undefined;
  /** Seconds. */
  interval?: number | undefined;
  /** Seconds. */
  timeout?: number | undefined;
}

async function waitAndReport(ctx: Context, id: string, args: WaitArgs): Promise<number> {
  const { JobFailedError, WaitTimeoutError, formatDuration, isFinalState } = await import(
    "@ai-training/client"
  );
  const client = await ctx.client();
  // Progress goes to stdout for people, to stderr when stdout carries JSON for a script.
  const stream = ctx.json ? process.stderr : process.stdout;
  const live = stream.isTTY === true;
  const started = Date.now();
  let current: { state: string; since: number } | undefined;
  const liveLine = () => {
    if (!current || isFinalState(current.state)) return;
    const now = Date.now();
    stream.write(
      `\r\x1b[2K  ${current.state} for ${elapsed(now - current.since)} (waiting ${elapsed(now - started)})`,
    );
  };
  const ticker = live ? setInterval(liveLine, 1000) : undefined;
  /** The time "+" counts from: when the first state shown began. */
  let origin: number | undefined;
  const showState = (state: string, at: number) => {
    origin ??= at;
    if (live) stream.write("\r\x1b[2K");
    stream.write(`${clock(new Date(at))}  ${state.padEnd(12)}  +${elapsed(Math.max(0, at - origin))}\n`);
    current = { state, since: at };
    if (live) liveLine();
  };
  const history = new HistoryShown();
  try {
    const job = await client.waitForJob(id, {
      targetStates: args.targetStates,
      failureStates: args.failureStates,
      interval: (args.interval ?? 2) * 1000,
      timeout: args.timeout === undefined ? undefined : args.timeout * 1000,
      onStateChange: (changed) => {
        for (const [state, at] of history.since(changed)) showState(state, at);
      },
    });
    if (live) stream.write("\r\x1b[2K");
    const code = job.status.exitCode === undefined ? "" : ` (exit code ${job.status.exitCode})`;
    if (ctx.json) ctx.out(JSON.stringify(job, null, 2));
    else
      ctx.out(`Job ${job.id} is ${job.status.state}${code} after ${formatDuration(Date.now() - started)}.`);
    return 0;
  } catch (error) {
    if (live) stream.write("\r\x1b[2K");
    if (error instanceof JobFailedError && ctx.json) ctx.out(JSON.stringify(error.job, null, 2));
    if (error instanceof JobFailedError) {
      // The summary, not the message: the client's message names TypeScript calls (getJobLogs).
      ctx.err(
        `error: ${error.summary}.\nnext: read its logs to see why: ai-training job logs ${id} --tail 100`,
      );
      return 1;
    }
    if (error instanceof WaitTimeoutError) {
      ctx.err(
        `error: ${error.summary}.\nnext: wait again with a longer --timeout (ai-training job wait ${id}), ` +
          `or stop it (ai-training job stop ${id})`,
      );
      return 1;
    }
    throw error;
  } finally {
    if (ticker) clearInterval(ticker);
  }
}

/**
 * Which of a job's state changes a wait has shown. A read only sees the state at that moment, but
 * `status.history` holds every state with its start time, so each read gives all the changes since the
 * last one, in order and once each, even those that began and ended between two reads.
 */
export class HistoryShown {
  /** History entries already shown. */
  #shown: number | undefined;
  /** A state shown from `status.state` because its history entry had not arrived yet. */
  #ahead: string | undefined;

  /** The `[state, time in ms]` pairs not shown yet, from the job as just read. */
  since(job: Job): Array<[string, number]> {
    const history = job.status.history ?? [];
    if (this.#shown === undefined || this.#shown > history.length) {
      // The first read shows the current run only: a restarted job's history also holds its earlier runs.
      let lastQueued = 0;
      for (const [i, entry] of history.entries()) if (entry.state === "QUEUED") lastQueued = i;
      this.#shown = lastQueued;
    }
    const fresh = history.slice(this.#shown);
    this.#shown = history.length;
    if (this.#ahead !== undefined && fresh[0]?.state === this.#ahead) fresh.shift();
    if (fresh.length > 0) this.#ahead = undefined;
    const now = Date.now();
    const changes = fresh.map((entry): [string, number] => {
      const at = Date.parse(entry.date);
      return [entry.state, Number.isNaN(at) ? now : at];
    });
    const state = job.status.state;
    const last = changes.at(-1)?.[0] ?? history.at(-1)?.state;
    if (last !== state && this.#ahead !== state) {
      changes.push([state, now]);
      this.#ahead = state;
    }
    return changes;
  }
}

/** `job logs ID [--tail N] [--follow]`. */
export async function logs(ctx: Context): Promise<number> {
  const id = jobIdArg(ctx, "logs");
  const { flags } = ctx.parsed;
  const tail = flags.tail as number | undefined;
  if (tail !== undefined && tail < 0) throw new UsageError(`--tail must be 0 or more lines, got ${tail}`);
  const client = await ctx.client();
  const write = (line: string) => ctx.out(ctx.json ? JSON.stringify({ line }) : line);
  if (flags.follow) {
    for await (const line of client.followJobLogs(id, { tail })) write(line);
    return 0;
  }
  const text = await client.getJobLogs(id, { tail });
  if (ctx.json) {
    const { splitLines } = await import("@ai-training/client");
    for (const line of splitLines(text)) write(line);
  } else if (text !== "") {
    process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }
  return 0;
}

/** `job stop ID`: a job that already ended is left as it is, and the output says so. */
export async function stop(ctx: Context): Promise<number> {
  const id = jobIdArg(ctx, "stop");
  const client = await ctx.client();
  const { isFinalState } = await import("@ai-training/client");
  // The API answers a stop of an ended job with success and changes nothing, so only the job's state
  // tells whether there is anything to stop.
  const state = (await client.getJob(id)).status.state;
  if (isFinalState(state)) {
    if (ctx.json) ctx.out(JSON.stringify({ id, stopped: false, state }));
    else ctx.out(`Job ${id} is already ${state}; nothing to stop.`);
    return 0;
  }
  await client.stopJob(id);
  if (ctx.json) ctx.out(JSON.stringify({ id, stopped: true }));
  else
    ctx.out(
      `Asked job ${id} to stop (it was ${state}); it goes INTERRUPTING, then INTERRUPTED. Follow it with: ai-training job wait ${id} --target INTERRUPTED`,
    );
  return 0;
}

/** `job delete ID [--force]`. */
export async function remove(ctx: Context): Promise<number> {
  const id = jobIdArg(ctx, "delete");
  await (await ctx.client()).deleteJob(id, { force: ctx.parsed.flags.force === true });
  if (ctx.json) ctx.out(JSON.stringify({ id, deleted: true }));
  else ctx.out(`Deleted job ${id}.`);
  return 0;
}

/** `job start ID`: restarts an ended job. */
export async function start(ctx: Context): Promise<number> {
  const id = jobIdArg(ctx, "start");
  await (await ctx.client()).startJob(id);
  if (ctx.json) ctx.out(JSON.stringify({ id, started: true }));
  else ctx.out(`Restarted job ${id}; it is QUEUED again. Follow it with: ai-training job wait ${id}`);
  return 0;
}

/** `job label ID KEY=VALUE` sets a label; `job label ID KEY --remove` removes it. */
export async function label(ctx: Context): Promise<number> {
  const [id, pair, extra] = ctx.parsed.positionals;
  const remove = ctx.parsed.flags.remove === true;
  if (!id || !pair || extra !== undefined) {
    throw new UsageError(
      "job label takes a job id and KEY=VALUE (or KEY with --remove): ai-training job label JOB_ID team=ml",
    );
  }
  const [key, value] = remove ? [pair, null] : splitKeyValue(pair, "label");
  await (await ctx.client()).setJobLabel(id, key, value);
  if (ctx.json) ctx.out(JSON.stringify({ id, label: key, value }));
  else
    ctx.out(
      value === null ? `Removed label ${key} from job ${id}.` : `Set label ${key}=${value} on job ${id}.`,
    );
  return 0;
}
