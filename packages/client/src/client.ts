/**
 * `AITrainingClient`: the jobs API over `fetch`, with retries for what is safe to repeat, checks before
 * sending, and waits and log streams built on the lifecycle module.
 */
import { show } from "./builders.js";
import type { RequestInfo } from "./errors.js";
import {
  ConnectionError,
  errorForStatus,
  JobFailedError,
  RateLimitError,
  ServerError,
  UnexpectedAnswerError,
  ValidationError,
  WaitTimeoutError,
} from "./errors.js";
import {
  DEFAULT_FAILURE_STATES,
  DEFAULT_TARGET_STATES,
  isFinalState,
  isKnownState,
  type JobState,
  KNOWN_JOB_STATES,
} from "./lifecycle.js";
import type { Flavor, Job, JobList, JobSpec, Me } from "./models.js";
import {
  type AttemptFailure,
  DEFAULT_RETRY,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  type RetryOptions,
  retryDelay,
  sleep,
} from "./retry.js";
import { validateJobSpec } from "./validation.js";

/** The regions and their API base URLs. */
export const REGIONS = {
  gra: "https://gra.ai.cloud.ovh.net",
  bhs: "https://bhs.ai.cloud.ovh.net",
} as const;

/** A region this client knows the base URL of. */
export type Region = keyof typeof REGIONS;

/** The region used when none is given. */
export const DEFAULT_REGION: Region = "gra";

/** How to reach the API. */
export interface AITrainingClientOptions {
  /** The AI token sent as `Authorization: Bearer ...`. Never written into any message. */
  token: string;
  /** `gra` (default) or `bhs`; checked but not used for the URL when `endpoint` is given. */
  region?: string;
  /**
   * A base URL that replaces the region's, e.g. a local emulator `http://127.0.0.1:8080` or a proxy's
   * `https://proxy.example/ai`. It is the part before `/v1`: an endpoint holding `/v1` is refused.
   */
  endpoint?: string;
  /** Retry tuning; see `RetryOptions`. `{ maxRetries: 0 }` turns retries off. */
  retry?: Partial<RetryOptions>;
  /** Milliseconds one request may take before it counts as a connection failure. Default 60000. */
  requestTimeout?: number;
  /** The `fetch` to use; defaults to the global one. */
  fetch?: typeof globalThis.fetch;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call (and its retries); the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The filters and paging of `listJobs`, named as the API names them. */
export interface ListJobsOptions extends CallOptions {
  /** Page number, from 1. */
  page?: number;
  /** Jobs per page, 1 to 1000. */
  size?: number;
  /** `asc` or `desc`. */
  order?: "asc" | "desc";
  /** The field to sort on: `createdAt`, `updatedAt`, `name` or `state`. */
  sort?: "createdAt" | "updatedAt" | "name" | "state";
  /** Only jobs updated after this instant. */
  updatedAfter?: Date | string;
  /** Only jobs updated before this instant. */
  updatedBefore?: Date | string;
  /** Only jobs in one of these states. */
  statusState?: JobState | readonly JobState[];
  /** Only jobs of this user. */
  userName?: string;
  /** Only jobs carrying all these labels: `{ team: "ml" }` or the API's `team=ml,env=prod`. */
  labelSelector?: string | Record<string, string>;
}

/** Options of `waitForJob`. */
export interface WaitForJobOptions extends CallOptions {
  /** States that end the wait successfully. Default `["DONE"]`. */
  targetStates?: readonly JobState[];
  /**
   * States that end the wait with a `JobFailedError`. Default `["FAILED", "ERROR", "INTERRUPTED"]` minus
   * the target states. Any other final state that is not a target fails the wait too, at once.
   */
  failureStates?: readonly JobState[];
  /** Milliseconds between two reads of the job. Default 5000. */
  interval?: number;
  /** Milliseconds to wait at most before a `WaitTimeoutError`. Default: no limit. */
  timeout?: number;
  /** Called once per state change (and once for the first state seen), with the previous state. */
  onStateChange?: (job: Job, previousState: JobState | undefined) => void;
}

/** Options of `followJobLogs`. */
export interface FollowJobLogsOptions extends CallOptions {
  /** Start with only the last N lines already written. Default: all of them. */
  tail?: number;
  /** Milliseconds between reconnects when the server closes the stream early. Default 2000. */
  reconnectInterval?: number;
}

const ORDERS = ["asc", "desc"] as const;
const SORTS = ["createdAt", "updatedAt", "name", "state"] as const;
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

interface SendOptions extends CallOptions {
  query?: URLSearchParams;
  body?: unknown;
  /** Safe to repeat: reads, kill, delete. */
  idempotent: boolean;
  jobId?: string;
  /** Read the body as this before the request timeout ends; `stream` hands the response back unread. */
  read: "json" | "text" | "none" | "stream";
  /** A 404 on a retry means an earlier attempt already did it (a delete). */
  notFoundAfterRetryIsDone?: boolean;
}

/** A typed client for the OVHcloud AI Training jobs API. */
export class AITrainingClient {
  /** The base URL requests go to, without a trailing slash. */
  readonly baseUrl: string;
  /** The region, or `undefined` when an endpoint override is used. */
  readonly region: Region | undefined;
  readonly #token: string;
  readonly #authorization: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #retry: RetryOptions;
  readonly #requestTimeout: number;

  /**
   * @throws ValidationError when the token is missing, the region unknown, or the endpoint not an http(s) URL.
   */
  constructor(options: AITrainingClientOptions) {
    if (typeof options?.token !== "string" || options.token.trim() === "") {
      throw new ValidationError(
        "token",
        "is missing: pass the AI token (the client's token option, --token or OVH_AI_TRAINING_TOKEN)",
      );
    }
    const hasEndpoint = options.endpoint !== undefined && options.endpoint !== "";
    // A region is checked even next to an endpoint (as the Python provider does): a misspelt region is a
    // mistake whichever URL is used, and accepting it would hide the mistake until the endpoint is removed.
    if (hasEndpoint && options.region !== undefined && options.region !== "") {
      if (!Object.hasOwn(REGIONS, options.region.toLowerCase())) {
        throw new ValidationError(
          "region",
          `${show(options.region)} is not a known region; the endpoint option already sets the URL, so give ` +
            "gra or bhs, or no region",
          Object.keys(REGIONS),
        );
      }
    }
    if (hasEndpoint && options.endpoint !== undefined) {
      let url: URL;
      try {
        url = new URL(options.endpoint);
      } catch {
        throw new ValidationError(
          "endpoint",
          `${show(options.endpoint)} is not a URL; use e.g. http://127.0.0.1:8080`,
        );
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new ValidationError("endpoint", `${show(options.endpoint)} must use http or https`);
      }
      // The client appends `/v1/...` itself: an endpoint already holding `/v1` would ask for `/v1/v1/job`,
      // and every answer would be a 404 that looks like a missing job. Refused, naming the URL to use.
      const v1 = /\/v1(\/|$)/.exec(url.pathname);
      if (v1) {
        const base = `${url.origin}${url.pathname.slice(0, v1.index)}`;
        throw new ValidationError(
          "endpoint",
          `${show(options.endpoint)} holds /v1, but the endpoint is the API's base URL without /v1 ` +
            `(the client adds /v1/...): use ${base}`,
        );
      }
      // Any other path is kept: a proxy may serve the API under a prefix.
      this.baseUrl = `${url.origin}${url.pathname}`.replace(/\/+$/, "");
      this.region = undefined;
    } else {
      const region = (options.region ?? DEFAULT_REGION).toLowerCase();
      if (!Object.hasOwn(REGIONS, region)) {
        throw new ValidationError(
          "region",
          `${show(options.region)} is not a known region; or pass an endpoint for any other base URL`,
          Object.keys(REGIONS),
        );
      }
      this.region = region as Region;
      this.baseUrl = REGIONS[region as Region];
    }
    this.#token = options.token;
    this.#authorization = `Bearer ${options.token}`;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#requestTimeout = options.requestTimeout ?? 60_000;
  }

  /**
   * A client configured from `OVH_AI_TRAINING_TOKEN`, `OVH_AI_TRAINING_REGION` and `OVH_AI_TRAINING_ENDPOINT`;
   * `overrides` win over the environment.
   */
  static fromEnv(overrides: Partial<AITrainingClientOptions> = {}, env = process.env): AITrainingClient {
    return new AITrainingClient({
      ...overrides,
      token: overrides.token ?? env.OVH_AI_TRAINING_TOKEN ?? "",
      region: overrides.region ?? env.OVH_AI_TRAINING_REGION,
      endpoint: overrides.endpoint ?? env.OVH_AI_TRAINING_ENDPOINT,
    });
  }

  /**
   * Submits a job. The spec is checked first (see `validateJobSpec`): a bad spec throws a
   * `ValidationError` and sends nothing. The request is never repeated once it may have reached the server.
   */
  async submitJob(spec: JobSpec, options: CallOptions = {}): Promise<Job> {
    validateJobSpec(spec);
    return (await this.#send("POST", "/v1/job", {
      ...options,
      body: spec,
      idempotent: false,
      read: "json",
    })) as Job;
  }

  /** Reads one job. Throws `NotFoundError` when it does not exist (or was deleted). */
  async getJob(jobId: string, options: CallOptions = {}): Promise<Job> {
    return (await this.#send("GET", jobPath(jobId), {
      ...options,
      idempotent: true,
      jobId,
      read: "json",
    })) as Job;
  }

  /**
   * Reads one page of jobs. Both answer shapes (`{ items, metadata }` and a bare array) come back as a
   * `JobList`; for a bare array `metadata` is absent.
   */
  async listJobs(options: ListJobsOptions = {}): Promise<JobList> {
    const query = listQuery(options);
    const body = await this.#send("GET", "/v1/job", {
      signal: options.signal,
      query,
      idempotent: true,
      read: "json",
    });
    if (Array.isArray(body)) return { items: body as Job[] };
    if (body !== null && typeof body === "object" && Array.isArray((body as JobList).items))
      return body as JobList;
    throw new UnexpectedAnswerError({
      endpoint: this.baseUrl,
      request: { method: "GET", path: query.size > 0 ? `/v1/job?${query}` : "/v1/job" },
      problem: "neither a list of jobs nor {items, metadata}",
    });
  }

  /**
   * Every job matching the filters, page after page (`page` in the options is the first page read). Stops
   * at the last page, on an empty page, or when a server that ignores paging repeats a page.
   */
  async *iterateJobs(options: ListJobsOptions = {}): AsyncGenerator<Job, void, undefined> {
    let page = options.page ?? 1;
    const seen = new Set<string>();
    for (;;) {
      const list = await this.listJobs({ ...options, page });
      const fresh = list.items.filter((job) => !seen.has(job.id));
      if (fresh.length === 0) return;
      for (const job of fresh) {
        seen.add(job.id);
        yield job;
      }
      const meta = list.metadata;
      if (meta?.pageCount !== undefined) {
        if (page >= meta.pageCount) return;
      } else if (options.size !== undefined && list.items.length < options.size) {
        return;
      }
      page += 1;
    }
  }

  /** Asks a job to stop (`PUT /kill`); it goes INTERRUPTING, FINALIZING, then INTERRUPTED. */
  async stopJob(jobId: string, options: CallOptions = {}): Promise<void> {
    await this.#send("PUT", `${jobPath(jobId)}/kill`, { ...options, idempotent: true, jobId, read: "none" });
  }

  /** Restarts a job that has ended; it goes back to QUEUED. */
  async startJob(jobId: string, options: CallOptions = {}): Promise<void> {
    await this.#send("PUT", `${jobPath(jobId)}/start`, {
      ...options,
      idempotent: false,
      jobId,
      read: "none",
    });
  }

  /**
   * Deletes a job. Without `force` the API refuses a job that has not ended (`BadRequestError`); with
   * `force` it is stopped first.
   */
  async deleteJob(jobId: string, options: CallOptions & { force?: boolean } = {}): Promise<void> {
    const query = options.force ? new URLSearchParams({ force: "true" }) : undefined;
    await this.#send("DELETE", jobPath(jobId), {
      signal: options.signal,
      query,
      idempotent: true,
      jobId,
      read: "none",
      notFoundAfterRetryIsDone: true,
    });
  }

  /** The job's output so far, as plain text; `tail` keeps only the last N lines. */
  async getJobLogs(jobId: string, options: CallOptions & { tail?: number } = {}): Promise<string> {
    const query = new URLSearchParams();
    if (options.tail !== undefined) query.set("tail", String(checkCount("tail", options.tail)));
    return (await this.#send("GET", `${jobPath(jobId)}/log`, {
      signal: options.signal,
      query,
      idempotent: true,
      jobId,
      read: "text",
    })) as string;
  }

  /**
   * The job's log lines as they are written, ending when the job is final. A dropped stream is reopened
   * and resumes after the last line given, so no line is repeated or lost.
   */
  async *followJobLogs(
    jobId: string,
    options: FollowJobLogsOptions = {},
  ): AsyncGenerator<string, void, undefined> {
    const { signal, tail, reconnectInterval = 2000 } = options;
    if (tail !== undefined) checkCount("tail", tail);
    // Index in the full log just after the last line given; unknown after a `tail` start until a reconnect
    // needs it and finds it by matching the last lines given.
    let position: number | undefined = tail === undefined ? 0 : undefined;
    const recent: string[] = [];
    let first = true;
    let finishing = false;
    let barrenDrops = 0;
    for (;;) {
      let skip = 0;
      const query = new URLSearchParams();
      if (!finishing) query.set("follow", "true");
      if (first && tail !== undefined) {
        query.set("tail", String(tail));
      } else if (position === undefined) {
        const full = splitLines(await this.getJobLogs(jobId, { signal }));
        position = resumePosition(full, recent, tail ?? 0);
        skip = position;
      } else {
        skip = position;
      }
      first = false;
      let dropped = false;
      let given = 0;
      try {
        const response = (await this.#send("GET", `${jobPath(jobId)}/log`, {
          signal,
          query,
          idempotent: true,
          jobId,
          read: "stream",
        })) as Response;
        for await (const line of readLines(response)) {
          if (skip > 0) {
            skip -= 1;
            continue;
          }
          if (position !== undefined) position += 1;
          recent.push(line);
          if (recent.length > 50) recent.shift();
          given += 1;
          yield line;
        }
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (!(error instanceof ConnectionError || isStreamError(error))) throw error;
        dropped = true;
        // A stream that keeps dropping without giving a line is a connection problem, not a hiccup.
        barrenDrops = given > 0 ? 0 : barrenDrops + 1;
        if (barrenDrops > FOLLOW_MAX_BARREN_DROPS) {
          throw error instanceof ConnectionError
            ? error
            : new ConnectionError({
                endpoint: this.baseUrl,
                request: { method: "GET", path: `${jobPath(jobId)}/log?${query}` },
                jobId,
                reason: `the log stream dropped ${barrenDrops} times in a row without a line`,
                notSent: false,
              });
        }
      }
      if (finishing) return;
      const job = await this.getJob(jobId, { signal });
      if (isFinalState(job.status.state)) {
        // A stream closed by the server at the end holds every line; a dropped one needs one last read.
        if (!dropped) return;
        finishing = true;
        continue;
      }
      await sleep(dropped ? Math.min(250 * barrenDrops, reconnectInterval) : reconnectInterval, signal);
    }
  }

  /** Sets a label on a job, or removes it when `value` is null. Keys starting with `ovh/` are refused. */
  async setJobLabel(
    jobId: string,
    name: string,
    value: string | null,
    options: CallOptions = {},
  ): Promise<void> {
    if (typeof name !== "string" || name === "" || name.startsWith("ovh/")) {
      throw new ValidationError(
        "name",
        "label keys must be non-empty and must not start with ovh/ (the platform owns those)",
      );
    }
    if (value !== null && typeof value !== "string") {
      throw new ValidationError("value", `must be a string, or null to remove the label, got ${show(value)}`);
    }
    await this.#send("PUT", `${jobPath(jobId)}/label`, {
      ...options,
      body: { name, value },
      idempotent: false,
      jobId,
      read: "none",
    });
  }

  /** The flavors a job may ask for, with their GPU model and the most units one job may take. */
  async listFlavors(options: CallOptions = {}): Promise<Flavor[]> {
    return (await this.#send("GET", "/v1/capabilities/flavor", {
      ...options,
      idempotent: true,
      read: "json",
    })) as Flavor[];
  }

  /** Who the token belongs to, and its role (`operator` or `read`). */
  async me(options: CallOptions = {}): Promise<Me> {
    return (await this.#send("GET", "/v1/me", { ...options, idempotent: true, read: "json" })) as Me;
  }

  /**
   * Reads the job every `interval` ms until it reaches a target state, and returns it. Throws
   * `JobFailedError` at once when the job reaches a failure state or any final state that is not a target,
   * and `WaitTimeoutError` (with the last state and how long it waited) when `timeout` passes first. A read
   * that fails with a transient error (connection, 429, 502/503/504) after its retries is skipped, up to
   * `WAIT_TOLERATED_FAILED_READS` in a row; any other error ends the wait.
   */
  async waitForJob(jobId: string, options: WaitForJobOptions = {}): Promise<Job> {
    const targets = options.targetStates ?? DEFAULT_TARGET_STATES;
    // A target named explicitly wins over the default failures: waiting for INTERRUPTED after a stop works.
    const failures =
      options.failureStates ?? DEFAULT_FAILURE_STATES.filter((state) => !targets.includes(state));
    const interval = options.interval ?? 5000;
    const { timeout, signal, onStateChange } = options;
    if (targets.length === 0) throw new ValidationError("targetStates", "must name at least one state");
    // Only what the caller asks for is checked: a misspelt state would never be reached, and the wait
    // would end on some other final state instead. States the API answers are still kept as they are.
    checkKnownStates("targetStates", targets);
    checkKnownStates("failureStates", failures);
    const overlap = targets.filter((state) => failures.includes(state));
    if (overlap.length > 0) {
      throw new ValidationError(
        "failureStates",
        `${overlap.join(", ")} cannot be both a target and a failure state`,
      );
    }
    if (!(interval > 0))
      throw new ValidationError(
        "interval",
        `must be a positive number of milliseconds, got ${show(interval)}`,
      );
    if (timeout !== undefined && !(timeout > 0)) {
      throw new ValidationError("timeout", `must be a positive number of milliseconds, got ${show(timeout)}`);
    }
    const started = Date.now();
    let previous: JobState | undefined;
    let failedReads = 0;
    for (;;) {
      let job: Job;
      try {
        job = await this.getJob(jobId, { signal });
        failedReads = 0;
      } catch (error) {
        // A wait may last hours: a read that failed even after its retries (the API briefly down or
        // rate limiting) skips this check instead of ending the wait, a few times in a row at most.
        failedReads += 1;
        const waited = Date.now() - started;
        if (!isTransient(error) || failedReads > WAIT_TOLERATED_FAILED_READS) throw error;
        if (timeout !== undefined && waited >= timeout) {
          throw new WaitTimeoutError(jobId, previous ?? "unknown", waited, timeout);
        }
        await sleep(timeout === undefined ? interval : Math.min(interval, timeout - waited), signal);
        continue;
      }
      const state = job.status.state;
      if (state !== previous) {
        onStateChange?.(job, previous);
        previous = state;
      }
      if (targets.includes(state)) return job;
      if (failures.includes(state) || isFinalState(state)) throw new JobFailedError(job, targets);
      const waited = Date.now() - started;
      if (timeout !== undefined && waited >= timeout)
        throw new WaitTimeoutError(jobId, state, waited, timeout);
      await sleep(timeout === undefined ? interval : Math.min(interval, timeout - waited), signal);
    }
  }

  /** One API call with the retry rules; returns the read body, or the response itself for `stream`. */
  async #send(method: string, path: string, options: SendOptions): Promise<unknown> {
    const url =
      options.query && options.query.size > 0
        ? `${this.baseUrl}${path}?${options.query}`
        : `${this.baseUrl}${path}`;
    const request: RequestInfo = {
      method,
      path: options.query && options.query.size > 0 ? `${path}?${options.query}` : path,
    };
    const headers: Record<string, string> = {
      authorization: this.#authorization,
      accept: "application/json",
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const { signal } = options;
    const started = performance.now();
    let retries = 0;
    for (;;) {
      signal?.throwIfAborted();
      // A stream (a followed log) lasts as long as the job, so it gets no request timeout and listens to
      // the caller's signal for its whole life; other requests get a timeout covering headers and body.
      const streaming = options.read === "stream";
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal?.reason);
      if (!streaming) signal?.addEventListener("abort", onAbort, { once: true });
      let timedOut = false;
      const timer =
        this.#requestTimeout > 0 && !streaming
          ? setTimeout(() => {
              timedOut = true;
              controller.abort();
            }, this.#requestTimeout)
          : undefined;
      let failure: AttemptFailure;
      let error: Error;
      try {
        const response = await this.#fetch(url, {
          method,
          headers,
          body,
          signal: streaming ? signal : controller.signal,
        });
        if (response.ok) {
          if (options.read === "stream") return response;
          if (options.read === "none") {
            await response.body?.cancel();
            return undefined;
          }
          return options.read === "json" ? await response.json() : await response.text();
        }
        const text = this.#redact(await response.text());
        if (response.status === 404 && retries > 0 && options.notFoundAfterRetryIsDone) return undefined;
        const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        const message =
          parsed !== null &&
          typeof parsed === "object" &&
          typeof (parsed as { message?: unknown }).message === "string"
            ? (parsed as { message: string }).message
            : text.trim().slice(0, 500) || response.statusText || "no message";
        error = errorForStatus({
          status: response.status,
          apiMessage: message,
          request,
          body: parsed ?? text,
          jobId: options.jobId,
          attempts: retries + 1,
          retryAfterMs,
        });
        failure = { kind: "status", status: response.status, retryAfterMs };
      } catch (caught) {
        if (signal?.aborted) throw signal.reason;
        if (caught instanceof SyntaxError) {
          throw new UnexpectedAnswerError({
            endpoint: this.baseUrl,
            request,
            problem: "a body that is not JSON",
          });
        }
        const code = causeCode(caught);
        const notSent = code !== undefined && NOT_SENT_CODES.has(code);
        const reason = timedOut
          ? `no answer within ${this.#requestTimeout} ms`
          : this.#redact(
              `${code ?? String((caught as Error)?.message ?? caught)}${causeMessage(caught, code)}`,
            );
        error = new ConnectionError({
          endpoint: this.baseUrl,
          request,
          jobId: options.jobId,
          reason,
          notSent,
        });
        failure = { kind: "connection", notSent };
      } finally {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      }
      const delay = retryDelay(
        failure,
        options.idempotent,
        retries,
        performance.now() - started,
        this.#retry,
      );
      if (delay === undefined) throw error;
      retries += 1;
      await sleep(delay, signal);
    }
  }

  /** Removes the token from text a server or the network stack produced, before it reaches a message. */
  #redact(text: string): string {
    return text.includes(this.#token) ? text.split(this.#token).join("[redacted]") : text;
  }
}

/** Log streams in a row that may drop before giving any line, before `followJobLogs` gives up. */
const FOLLOW_MAX_BARREN_DROPS = 5;

/** Reads in a row that `waitForJob` lets fail (each after its own retries) before it gives up. */
export const WAIT_TOLERATED_FAILED_READS = 3;

function isTransient(error: unknown): boolean {
  return (
    error instanceof ConnectionError ||
    error instanceof RateLimitError ||
    (error instanceof ServerError && RETRYABLE_STATUSES.has(error.status))
  );
}

function jobPath(jobId: string): string {
  if (typeof jobId !== "string" || jobId.trim() === "") {
    throw new ValidationError("jobId", "is required: the id of the job (list jobs to find it)");
  }
  return `/v1/job/${encodeURIComponent(jobId)}`;
}

function checkKnownStates(field: string, states: readonly string[]): void {
  const unknown = states.find((state) => !isKnownState(state));
  if (unknown !== undefined) {
    throw new ValidationError(field, `${show(unknown)} is not a job state`, KNOWN_JOB_STATES);
  }
}

function checkCount(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ValidationError(field, `must be a whole number, 0 or more, got ${show(value)}`);
  }
  return value;
}

function listQuery(options: ListJobsOptions): URLSearchParams {
  const query = new URLSearchParams();
  if (options.page !== undefined) {
    if (!Number.isInteger(options.page) || options.page < 1) {
      throw new ValidationError("page", `must be a whole number from 1, got ${show(options.page)}`);
    }
    query.set("page", String(options.page));
  }
  if (options.size !== undefined) {
    if (!Number.isInteger(options.size) || options.size < 1 || options.size > 1000) {
      throw new ValidationError("size", `must be a whole number from 1 to 1000, got ${show(options.size)}`);
    }
    query.set("size", String(options.size));
  }
  if (options.order !== undefined) {
    if (!ORDERS.includes(options.order))
      throw new ValidationError("order", `${show(options.order)} is not one of the allowed values`, ORDERS);
    query.set("order", options.order);
  }
  if (options.sort !== undefined) {
    if (!SORTS.includes(options.sort))
      throw new ValidationError("sort", `${show(options.sort)} is not one of the allowed values`, SORTS);
    query.set("sort", options.sort);
  }
  for (const key of ["updatedAfter", "updatedBefore"] as const) {
    const value = options[key];
    if (value === undefined) continue;
    const date = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(date.getTime())) {
      throw new ValidationError(key, `must be a date or an ISO-8601 instant, got ${show(value)}`);
    }
    query.set(key, date.toISOString());
  }
  const states = options.statusState === undefined ? [] : [options.statusState].flat();
  for (const state of states) query.append("statusState", state);
  if (options.userName !== undefined) query.set("userName", options.userName);
  if (options.labelSelector !== undefined) {
    const selector =
      typeof options.labelSelector === "string"
        ? options.labelSelector
        : Object.entries(options.labelSelector)
            .map(([key, value]) => `${key}=${value}`)
            .join(",");
    if (selector !== "") query.set("labelSelector", selector);
  }
  return query;
}

/** Splits a log text into lines, without the empty string after a final newline. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n").map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/**
 * Where to resume in the full log after a dropped `tail` stream: just after the last occurrence of the
 * lines already given. When none were given, where the tail would have started.
 */
export function resumePosition(full: readonly string[], given: readonly string[], tail: number): number {
  if (given.length === 0) return Math.max(0, full.length - tail);
  for (let end = full.length; end >= given.length; end -= 1) {
    let match = true;
    for (let i = 1; i <= given.length; i += 1) {
      if (full[end - i] !== given[given.length - i]) {
        match = false;
        break;
      }
    }
    if (match) return end;
  }
  // Known shortcoming: when the last lines given also appear later (identical repeated lines), the later
  // copy is taken and the lines between are skipped.
  // The lines given are not in the log any more (it was rotated or trimmed): only new lines from here.
  return full.length;
}

async function* readLines(response: Response): AsyncGenerator<string, void, undefined> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      yield line.endsWith("\r") ? line.slice(0, -1) : line;
      newline = pending.indexOf("\n");
    }
  }
  pending += decoder.decode();
  if (pending !== "") yield pending;
}

function isStreamError(error: unknown): boolean {
  return error instanceof TypeError || (error as { code?: string })?.code === "ECONNRESET";
}

function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } })?.cause;
  return typeof cause?.code === "string" ? cause.code : undefined;
}

function causeMessage(error: unknown, code: string | undefined): string {
  const message = (error as { cause?: { message?: unknown } })?.cause?.message;
  return typeof message === "string" && message !== code ? ` (${message})` : "";
}
