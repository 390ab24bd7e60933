/**
 * The errors the client throws. API answers map to one class per status family; the client's own checks
 * throw `ValidationError`, a failed wait throws `JobFailedError` or `WaitTimeoutError`. Every message says
 * what happened, to which job when there is one, and what to do next. No message carries the token: the
 * request layer redacts it from anything the server echoes before an error is built.
 */
import type { Job } from "./models.js";

/** The request an API error answers, without headers (so never the token). */
export interface RequestInfo {
  /** HTTP verb, e.g. `GET`. */
  method: string;
  /** Path and query, e.g. `/v1/job/abc?force=true`. */
  path: string;
}

/** Base class of every error this package throws, so callers can catch them all at once. */
export class AITrainingError extends Error {
  override name = "AITrainingError";
}

/** What the API answered when a call failed, as the error constructors receive it. */
export interface APIErrorInit {
  status: number;
  apiMessage: string;
  request: RequestInfo;
  body?: unknown;
  jobId?: string;
  /** Whether the error was answered after retries gave up; only used in the message. */
  attempts?: number;
}

/** An error answer of the API (any non-2xx status). Subclasses name the status family. */
export class APIError extends AITrainingError {
  override name = "APIError";
  /** The HTTP status. */
  readonly status: number;
  /** The API's `message`, or the body text when it sent none. */
  readonly apiMessage: string;
  /** The request that failed (method and path). */
  readonly request: RequestInfo;
  /** The parsed error body, when it was JSON. */
  readonly body: unknown;
  /** The job the request was about, when there was one. */
  readonly jobId: string | undefined;

  constructor(init: APIErrorInit, hint?: string) {
    // The job id is named unless the path already shows it.
    const about = init.jobId && !init.request.path.includes(init.jobId) ? ` (job ${init.jobId})` : "";
    const tries = init.attempts && init.attempts > 1 ? ` after ${init.attempts} attempts` : "";
    super(
      `${init.request.method} ${init.request.path}${about} failed with ${init.status}${tries}: ${init.apiMessage}` +
        (hint ? `. ${hint}` : ""),
    );
    this.status = init.status;
    this.apiMessage = init.apiMessage;
    this.request = init.request;
    this.body = init.body;
    this.jobId = init.jobId;
  }
}

/** 400 or 422: the API refused the request's content. The message names the field. */
export class BadRequestError extends APIError {
  override name = "BadRequestError";
  constructor(init: APIErrorInit) {
    super(init, "Correct what the message names, then send the request again");
  }
}

/** 401: the token is missing, unknown or expired. */
export class AuthenticationError extends APIError {
  override name = "AuthenticationError";
  constructor(init: APIErrorInit) {
    super(
      init,
      "Check the token (the client's `token` option, --token or OVH_AI_TRAINING_TOKEN) and that it belongs to this region",
    );
  }
}

/** 403: the token is valid but its role may not do this (a read token cannot submit, stop or delete). */
export class PermissionDeniedError extends APIError {
  override name = "PermissionDeniedError";
  constructor(init: APIErrorInit) {
    super(init, "Use an operator token for this action (a read token may only read)");
  }
}

/** 404: the job (or path) does not exist, or was deleted. */
export class NotFoundError extends APIError {
  override name = "NotFoundError";
  constructor(init: APIErrorInit) {
    super(init, "Check the job id (list jobs to find it) and the region or endpoint");
  }
}

/** 409: the request conflicts with the job's current state. */
export class ConflictError extends APIError {
  override name = "ConflictError";
  constructor(init: APIErrorInit) {
    super(init, "Read the job's state, then retry when it allows this action");
  }
}

/** 429: too many requests; `retryAfterMs` is what the server asked to wait, when it said. */
export class RateLimitError extends APIError {
  override name = "RateLimitError";
  readonly retryAfterMs: number | undefined;
  constructor(init: APIErrorInit & { retryAfterMs?: number }) {
    const wait =
      init.retryAfterMs !== undefined ? `wait ${Math.ceil(init.retryAfterMs / 1000)} s` : "wait a little";
    super(init, `The API is rate limiting this token: ${wait} and try again, or send fewer requests`);
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** 5xx: the platform failed. Safe requests were already retried before this was thrown. */
export class ServerError extends APIError {
  override name = "ServerError";
  constructor(init: APIErrorInit) {
    super(init, "The platform failed; try again later, and check the platform status if it persists");
  }
}

/** The request got no HTTP answer: refused, reset, DNS failure, or no answer before the request timeout. */
export class ConnectionError extends AITrainingError {
  override name = "ConnectionError";
  /** The base URL the client was talking to. */
  readonly endpoint: string;
  readonly request: RequestInfo;
  /** The job the request was about, when there was one. */
  readonly jobId: string | undefined;
  /** True when the request cannot have reached the server (connection refused, unknown host). */
  readonly notSent: boolean;
  /** What went wrong on the way, e.g. `ECONNRESET` or `no answer within 60000 ms`. */
  readonly reason: string;

  constructor(init: {
    endpoint: string;
    request: RequestInfo;
    reason: string;
    jobId?: string;
    notSent: boolean;
    cause?: unknown;
  }) {
    const about = init.jobId && !init.request.path.includes(init.jobId) ? ` (job ${init.jobId})` : "";
    // A POST (a submit) that may have reached the server may have created a job: sending it again blindly
    // could run the job twice, so the message says to look first.
    const maybeDone =
      init.request.method === "POST" && !init.notSent
        ? "The request may have reached the server, so the job may have been created: list jobs " +
          "(listJobs, e.g. with a labelSelector of a label it was given) before submitting it again. "
        : "";
    super(
      `Could not reach ${init.endpoint} for ${init.request.method} ${init.request.path}${about}: ${init.reason}. ` +
        `${maybeDone}Check the region or endpoint (--region, --endpoint, OVH_AI_TRAINING_ENDPOINT) and the network`,
      { cause: init.cause },
    );
    this.reason = init.reason;
    this.endpoint = init.endpoint;
    this.request = init.request;
    this.jobId = init.jobId;
    this.notSent = init.notSent;
  }
}

/** The server answered 2xx with something that is not what the AI Training API answers (wrong endpoint?). */
export class UnexpectedAnswerError extends AITrainingError {
  override name = "UnexpectedAnswerError";
  readonly endpoint: string;
  readonly request: RequestInfo;

  constructor(init: { endpoint: string; request: RequestInfo; problem: string }) {
    super(
      `${init.endpoint} answered ${init.request.method} ${init.request.path} with ${init.problem}. ` +
        "Check that the region or endpoint (--endpoint, OVH_AI_TRAINING_ENDPOINT) points at the AI Training API",
    );
    this.endpoint = init.endpoint;
    this.request = init.request;
  }
}

/** Input refused by the client before any request was sent; `field` names it, `allowed` lists valid values. */
export class ValidationError extends AITrainingError {
  override name = "ValidationError";
  readonly field: string;
  readonly allowed: readonly string[] | undefined;

  constructor(field: string, problem: string, allowed?: readonly string[]) {
    super(`${field}: ${problem}${allowed ? ` (allowed: ${allowed.join(", ")})` : ""}`);
    this.field = field;
    this.allowed = allowed;
  }
}

/** A waited-for job reached a state that is final but not a target, or one of the failure states. */
export class JobFailedError extends AITrainingError {
  override name = "JobFailedError";
  readonly jobId: string;
  readonly state: string;
  /** The process exit code, when the job ran far enough to have one. */
  readonly exitCode: number | undefined;
  /** The platform's `status.info.message`, when it gave one. */
  readonly platformMessage: string | undefined;
  /** The platform's `status.info.code`, e.g. `TIMEOUT`. */
  readonly infoCode: string | undefined;
  /** The job as last read. */
  readonly job: Job;
  /** What happened, without the next step, for callers (the command line) that name their own next step. */
  readonly summary: string;

  constructor(job: Job, expected: readonly string[]) {
    const { state, exitCode, info } = job.status;
    const parts = [`Job ${job.id} ended in state ${state}`];
    if (exitCode !== undefined) parts.push(` with exit code ${exitCode}`);
    if (info?.message) parts.push(`: ${info.message}`);
    parts.push(` (waited for ${expected.join(" or ")})`);
    const summary = parts.join("");
    super(`${summary}. Read its logs (getJobLogs("${job.id}")) to see why`);
    this.summary = summary;
    this.jobId = job.id;
    this.state = state;
    this.exitCode = exitCode;
    this.platformMessage = info?.message;
    this.infoCode = info?.code;
    this.job = job;
  }
}

/** `waitForJob` ran out of time before the job reached a target state; the job keeps running. */
export class WaitTimeoutError extends AITrainingError {
  override name = "WaitTimeoutError";
  readonly jobId: string;
  /** The state the job was in at the last check. */
  readonly lastState: string;
  /** How long the wait lasted, in milliseconds. */
  readonly waitedMs: number;
  readonly timeoutMs: number;
  /** What happened, without the next step, for callers (the command line) that name their own next step. */
  readonly summary: string;

  constructor(jobId: string, lastState: string, waitedMs: number, timeoutMs: number) {
    const summary =
      `Job ${jobId} was still ${lastState} after waiting ${formatDuration(waitedMs)} ` +
      `(timeout ${formatDuration(timeoutMs)}); the job keeps running`;
    super(`${summary}: wait longer (raise the timeout), or stop it with stopJob("${jobId}")`);
    this.summary = summary;
    this.jobId = jobId;
    this.lastState = lastState;
    this.waitedMs = waitedMs;
    this.timeoutMs = timeoutMs;
  }
}

/** `1.5 s`, `2 min 3 s`, `1 h 2 min`: short human durations for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${ms < 10_000 ? (ms / 1000).toFixed(1) : s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Builds the API error class that matches `status`. */
export function errorForStatus(init: APIErrorInit & { retryAfterMs?: number }): APIError {
  const { status } = init;
  if (status === 400 || status === 422) return new BadRequestError(init);
  if (status === 401) return new AuthenticationError(init);
  if (status === 403) return new PermissionDeniedError(init);
  if (status === 404 || status === 410) return new NotFoundError(init);
  if (status === 409) return new ConflictError(init);
  if (status === 429) return new RateLimitError(init);
  if (status >= 500) return new ServerError(init);
  return new APIError(init, "Check the request against the API documentation");
}
