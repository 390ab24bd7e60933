import assert from "node:assert/strict";
import { test } from "node:test";
import { type AttemptFailure, DEFAULT_RETRY, parseRetryAfter, retryDelay } from "../src/index.js";

const half = () => 0.5;
const status = (code: number, retryAfterMs?: number): AttemptFailure => ({
  kind: "status",
  status: code,
  retryAfterMs,
});
const refused: AttemptFailure = { kind: "connection", notSent: true };
const reset: AttemptFailure = { kind: "connection", notSent: false };

test("reads are retried on 429, 502, 503, 504 and connection errors", () => {
  for (const failure of [status(429), status(502), status(503), status(504), refused, reset]) {
    assert.notEqual(retryDelay(failure, true, 0, 0, DEFAULT_RETRY, half), undefined, JSON.stringify(failure));
  }
});

test("other statuses are never retried", () => {
  for (const code of [400, 401, 403, 404, 409, 500, 501]) {
    assert.equal(retryDelay(status(code), true, 0, 0, DEFAULT_RETRY, half), undefined, String(code));
  }
});

test("a submit is retried only when the request provably never left", () => {
  assert.notEqual(retryDelay(refused, false, 0, 0, DEFAULT_RETRY, half), undefined);
  assert.equal(retryDelay(reset, false, 0, 0, DEFAULT_RETRY, half), undefined);
  assert.equal(retryDelay(status(503), false, 0, 0, DEFAULT_RETRY, half), undefined);
  assert.equal(retryDelay(status(429), false, 0, 0, DEFAULT_RETRY, half), undefined);
});

test("backoff doubles, with jitter between half and the full delay", () => {
  const options = { ...DEFAULT_RETRY, initialDelayMs: 100 };
  assert.equal(
    retryDelay(reset, true, 0, 0, options, () => 0),
    50,
  );
  assert.equal(
    retryDelay(reset, true, 0, 0, options, () => 0.999),
    100,
  );
  assert.equal(
    retryDelay(reset, true, 2, 0, options, () => 0),
    200,
  );
  assert.equal(
    retryDelay(reset, true, 3, 0, options, () => 0),
    400,
  );
});

test("the delay is capped by maxDelayMs", () => {
  const options = {
    ...DEFAULT_RETRY,
    initialDelayMs: 1000,
    maxDelayMs: 3000,
    maxRetries: 20,
    maxElapsedMs: 1e9,
  };
  assert.equal(
    retryDelay(reset, true, 10, 0, options, () => 0.999),
    2999,
  );
});

test("retries stop after maxRetries and when the time budget would be spent", () => {
  assert.equal(retryDelay(reset, true, DEFAULT_RETRY.maxRetries, 0, DEFAULT_RETRY, half), undefined);
  assert.equal(retryDelay(reset, true, 1, DEFAULT_RETRY.maxElapsedMs - 10, DEFAULT_RETRY, half), undefined);
});

test("Retry-After is honoured as a floor, and a wait beyond maxDelayMs gives up", () => {
  assert.equal(retryDelay(status(429, 2500), true, 0, 0, DEFAULT_RETRY, half), 2500);
  assert.equal(retryDelay(status(429, 60_000), true, 0, 0, DEFAULT_RETRY, half), undefined);
});

test("parseRetryAfter reads seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  assert.equal(parseRetryAfter("0.5"), 500);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:07 GMT", now), 7000);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter(null), undefined);
});
