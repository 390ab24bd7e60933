/**
 * When a failed request is tried again, and after how long. Kept apart from the transport so the rules
 * can be read and unit-tested on their own.
 *
 * Only requests that are safe to repeat are retried: reads, kill and delete (repeating them changes
 * nothing more). A submit is repeated only when the request provably never left this machine (connection
 * refused, unknown host): once it may have reached the server, a second submit could start a second job.
 */

/** How hard the client retries. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 4; 0 turns retrying off. */
  maxRetries: number;
  /** First backoff delay in milliseconds, doubled at each retry. Default 200. */
  initialDelayMs: number;
  /** Longest single delay in milliseconds (also caps `Retry-After`). Default 8000. */
  maxDelayMs: number;
  /** Total time budget for the retries of one call in milliseconds. Default 30000. */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = {
  maxRetries: 4,
  initialDelayMs: 200,
  maxDelayMs: 8000,
  maxElapsedMs: 30_000,
};

/** The statuses worth another try: rate limited, or a gateway/availability failure in front of the API. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** What went wrong with one attempt, as the retry decision sees it. */
export type AttemptFailure =
  | { kind: "status"; status: number; retryAfterMs?: number }
  /** `notSent` is true when the request cannot have reached the server. */
  | { kind: "connection"; notSent: boolean };

/**
 * The delay before the next attempt, or `undefined` to give up.
 *
 * @param idempotent whether repeating the request is harmless (reads, kill, delete)
 * @param retriesDone retries already made for this call
 * @param elapsedMs time spent on this call so far
 * @param random a number in [0, 1) for the jitter (injectable for tests)
 */
export function retryDelay(
  failure: AttemptFailure,
  idempotent: boolean,
  retriesDone: number,
  elapsedMs: number,
  options: RetryOptions = DEFAULT_RETRY,
  random: () => number = Math.random,
): number | undefined {
  if (retriesDone >= options.maxRetries) return undefined;
  if (failure.kind === "status") {
    if (!idempotent || !RETRYABLE_STATUSES.has(failure.status)) return undefined;
  } else if (!idempotent && !failure.notSent) {
    return undefined;
  }
  const backoff = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** retriesDone);
  // Jitter in [backoff/2, backoff) spreads clients that failed together, and keeps a floor so a retry
  // never hammers a server that just said it was overloaded.
  let delay = backoff / 2 + (random() * backoff) / 2;
  if (failure.kind === "status" && failure.retryAfterMs !== undefined) {
    // The server said how long to wait: never wait less; a wait past maxDelayMs means give up now.
    if (failure.retryAfterMs > options.maxDelayMs) return undefined;
    delay = Math.max(delay, failure.retryAfterMs);
  }
  if (elapsedMs + delay > options.maxElapsedMs) return undefined;
  return Math.round(delay);
}

/**
 * Parses a `Retry-After` header: delay-seconds or an HTTP date. Returns milliseconds, or `undefined`
 * when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
