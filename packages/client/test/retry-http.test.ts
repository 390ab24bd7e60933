/**
 * Retry rules over real HTTP, against a tiny server started here: the emulator cannot be told to answer
 * 502 or to drop one exact request, and these faults are the point of the test.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import {
  AITrainingClient,
  AuthenticationError,
  ConnectionError,
  RateLimitError,
  ServerError,
  UnexpectedAnswerError,
} from "../src/index.js";

const TOKEN = "tok-secret-0123456789";
type Handler = (req: IncomingMessage, res: ServerResponse, count: number) => void;
let handler: Handler = () => {};
let count = 0;
const seen: string[] = [];
let server: Server;
let endpoint = "";

before(async () => {
  server = createServer((req, res) => {
    count += 1;
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on("end", () => handler(req, res, count));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

function reset(next: Handler) {
  handler = next;
  count = 0;
  seen.length = 0;
}

const fast = { initialDelayMs: 5, maxDelayMs: 2000, maxRetries: 3, maxElapsedMs: 5000 };
const client = () => new AITrainingClient({ token: TOKEN, endpoint, retry: fast });
const job = {
  id: "j1",
  createdAt: "",
  updatedAt: "",
  spec: { image: "x" },
  status: { state: "RUNNING", history: [] },
};

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

test("a read is retried through 503 and 502 and then succeeds", async () => {
  reset((_req, res, n) =>
    n <= 2 ? send(res, n === 1 ? 503 : 502, { message: "busy" }) : send(res, 200, job),
  );
  const got = await client().getJob("j1");
  assert.equal(got.id, "j1");
  assert.equal(count, 3);
});

test("429 with Retry-After is honoured before the retry", async () => {
  reset((_req, res, n) =>
    n === 1 ? send(res, 429, { message: "slow down" }, { "retry-after": "1" }) : send(res, 200, []),
  );
  // How long it waits is retryDelay's unit test; here, that a 429 with Retry-After is retried at all.
  const list = await client().listJobs();
  assert.deepEqual(list.items, []);
  assert.equal(count, 2);
});

test("retries are bounded: the last error is thrown with the attempt count", async () => {
  reset((_req, res) => send(res, 503, { message: "down for maintenance" }));
  await assert.rejects(client().getJob("j1"), (error: unknown) => {
    assert.ok(error instanceof ServerError);
    assert.equal(error.status, 503);
    assert.equal(error.apiMessage, "down for maintenance");
    assert.deepEqual(error.request, { method: "GET", path: "/v1/job/j1" });
    assert.match(error.message, /after 4 attempts/);
    return true;
  });
  assert.equal(count, 4);
});

test("a 429 asking for longer than the longest delay is not waited for", async () => {
  reset((_req, res) => send(res, 429, { message: "quota" }, { "retry-after": "3600" }));
  await assert.rejects(
    client().me(),
    (error: unknown) => error instanceof RateLimitError && error.retryAfterMs === 3_600_000,
  );
  assert.equal(count, 1);
});

test("a submit answered 503 is never sent twice", async () => {
  reset((_req, res) => send(res, 503, { message: "busy" }));
  await assert.rejects(client().submitJob({ image: "python:3.12" }), ServerError);
  assert.equal(count, 1);
});

test("a submit whose connection drops after sending is never sent twice", async () => {
  reset((req) => req.socket.destroy());
  await assert.rejects(client().submitJob({ image: "python:3.12" }), (error: unknown) => {
    assert.ok(error instanceof ConnectionError);
    assert.equal(error.notSent, false);
    // Not only "check the network": the job may exist, so listing comes before any new submit.
    assert.match(error.message, /the job may have been created: list jobs .* before submitting it again/);
    return true;
  });
  assert.equal(count, 1);
});

test("kill and delete are retried after a dropped connection; a delete done by the lost attempt succeeds", async () => {
  reset((req, res, n) => (n === 1 ? req.socket.destroy() : send(res, 204)));
  await client().stopJob("j1");
  assert.deepEqual(seen, ["PUT /v1/job/j1/kill", "PUT /v1/job/j1/kill"]);
  reset((req, res, n) => (n === 1 ? req.socket.destroy() : send(res, 404, { message: "job j1 not found" })));
  await client().deleteJob("j1", { force: true });
  assert.deepEqual(seen, ["DELETE /v1/job/j1?force=true", "DELETE /v1/job/j1?force=true"]);
});

test("a refused connection is retried, then named with its endpoint", async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const dead = new AITrainingClient({ token: TOKEN, endpoint: `http://127.0.0.1:${port}`, retry: fast });
  await assert.rejects(dead.submitJob({ image: "x" }), (error: unknown) => {
    assert.ok(error instanceof ConnectionError);
    assert.equal(error.notSent, true);
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(error.message, /ECONNREFUSED/);
    return true;
  });
});

test("a server echoing the token never gets it into an error message", async () => {
  reset((req, res) => send(res, 401, { message: `bad token ${req.headers.authorization}` }));
  await assert.rejects(client().getJob("j1"), (error: unknown) => {
    assert.ok(error instanceof AuthenticationError);
    assert.ok(!error.message.includes(TOKEN), error.message);
    assert.ok(!JSON.stringify(error.body).includes(TOKEN));
    assert.match(error.message, /\[redacted\]/);
    return true;
  });
});

test("an aborted signal stops the retries at once", async () => {
  reset((_req, res) => send(res, 503, { message: "busy" }));
  const controller = new AbortController();
  const slow = new AITrainingClient({ token: TOKEN, endpoint, retry: { ...fast, initialDelayMs: 1000 } });
  const pending = slow.getJob("j1", { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("stopped by test")), 50);
  await assert.rejects(pending, /stopped by test/);
  assert.equal(count, 1);
});

/** A server whose log stream drops once mid-way: answers follow requests from `streams` in turn. */
function logServer(
  states: string[],
  full: string[],
  streams: Array<{ lines: string[]; drop: boolean }>,
): Handler {
  let stateIndex = 0;
  let streamIndex = 0;
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/v1/job/j1") {
      const state = states[Math.min(stateIndex, states.length - 1)];
      stateIndex += 1;
      send(res, 200, { ...job, status: { state, history: [] } });
      return;
    }
    if (url.searchParams.get("follow") !== "true") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(full.map((line) => `${line}\n`).join(""));
      return;
    }
    const stream = streams[streamIndex] ?? { lines: [], drop: false };
    streamIndex += 1;
    res.writeHead(200, { "content-type": "text/plain" });
    res.write(stream.lines.map((line) => `${line}\n`).join(""));
    if (stream.drop) setTimeout(() => req.socket.destroy(), 20);
    else res.end();
  };
}

test("followJobLogs resumes after a dropped stream without repeating or losing lines", async () => {
  reset(
    logServer(
      ["RUNNING", "DONE"],
      [],
      [
        { lines: ["l1", "l2"], drop: true },
        { lines: ["l1", "l2", "l3", "l4"], drop: false },
      ],
    ),
  );
  const lines: string[] = [];
  for await (const line of client().followJobLogs("j1", { reconnectInterval: 5 })) lines.push(line);
  assert.deepEqual(lines, ["l1", "l2", "l3", "l4"]);
  assert.ok(seen.includes("GET /v1/job/j1/log?follow=true"));
});

test("followJobLogs with tail finds its place again after a drop", async () => {
  reset(
    logServer(
      ["RUNNING", "DONE"],
      ["a", "b", "c", "d", "e"],
      [
        { lines: ["c", "d"], drop: true },
        { lines: ["a", "b", "c", "d", "e", "f"], drop: false },
      ],
    ),
  );
  const lines: string[] = [];
  for await (const line of client().followJobLogs("j1", { tail: 2, reconnectInterval: 5 })) lines.push(line);
  assert.deepEqual(lines, ["c", "d", "e", "f"]);
  assert.equal(seen[0], "GET /v1/job/j1/log?follow=true&tail=2");
});

test("followJobLogs reads the rest once when the stream drops and the job has ended meanwhile", async () => {
  reset(logServer(["DONE"], ["x", "y", "z"], [{ lines: ["x"], drop: true }]));
  const lines: string[] = [];
  for await (const line of client().followJobLogs("j1", { reconnectInterval: 5 })) lines.push(line);
  assert.deepEqual(lines, ["x", "y", "z"]);
});

test("a request with no answer within requestTimeout is a ConnectionError saying so", async () => {
  reset(() => {});
  const impatient = new AITrainingClient({
    token: TOKEN,
    endpoint,
    requestTimeout: 100,
    retry: { maxRetries: 1, initialDelayMs: 5 },
  });
  await assert.rejects(impatient.getJob("j1"), (error: unknown) => {
    assert.ok(error instanceof ConnectionError);
    assert.match(error.message, /no answer within 100 ms/);
    assert.equal(error.jobId, "j1");
    return true;
  });
  assert.equal(count, 2, "a read that timed out is retried once, as configured");
});

test("an answer that is not the API's shape is UnexpectedAnswerError naming the endpoint", async () => {
  reset((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<html>proxy login</html>");
  });
  await assert.rejects(client().getJob("j1"), (error: unknown) => {
    assert.ok(error instanceof UnexpectedAnswerError);
    assert.match(
      error.message,
      new RegExp(`${endpoint} answered GET /v1/job/j1 with a body that is not JSON`),
    );
    return true;
  });
  reset((_req, res) => send(res, 200, { jobs: [] }));
  await assert.rejects(client().listJobs(), UnexpectedAnswerError);
});

test("waitForJob keeps an unknown state visible and keeps waiting through it", async () => {
  const states = ["WARMING_UP", "WARMING_UP", "SOMETHING_NEW", "DONE"];
  reset((_req, res, n) =>
    send(res, 200, { ...job, status: { state: states[Math.min(n - 1, states.length - 1)], history: [] } }),
  );
  const seenStates: string[] = [];
  const done = await client().waitForJob("j1", {
    interval: 5,
    onStateChange: (current) => seenStates.push(current.status.state),
  });
  assert.equal(done.status.state, "DONE");
  assert.deepEqual(seenStates, ["WARMING_UP", "SOMETHING_NEW", "DONE"]);
});

test("waitForJob rides out a short outage but not a long one", async () => {
  const noRetry = () => new AITrainingClient({ token: TOKEN, endpoint, retry: { maxRetries: 0 } });
  reset((_req, res, n) =>
    n <= 3
      ? send(res, 503, { message: "down" })
      : send(res, 200, { ...job, status: { state: "DONE", history: [] } }),
  );
  assert.equal((await noRetry().waitForJob("j1", { interval: 5 })).status.state, "DONE");
  assert.equal(count, 4);
  reset((_req, res) => send(res, 503, { message: "down" }));
  await assert.rejects(noRetry().waitForJob("j1", { interval: 5 }), ServerError);
  assert.equal(count, 4, "three failed reads are tolerated, the fourth ends the wait");
  reset((_req, res) => send(res, 401, { message: "token revoked" }));
  await assert.rejects(noRetry().waitForJob("j1", { interval: 5 }), AuthenticationError);
  assert.equal(count, 1, "an error that is not transient ends the wait at once");
});

test("followJobLogs gives up with a ConnectionError when the stream keeps dropping without a line", async () => {
  reset((req, res) => {
    if (req.url === "/v1/job/j1") send(res, 200, { ...job, status: { state: "RUNNING", history: [] } });
    else {
      res.writeHead(200, { "content-type": "text/plain" });
      res.flushHeaders();
      setTimeout(() => req.socket.destroy(), 5);
    }
  });
  await assert.rejects(
    (async () => {
      for await (const _line of client().followJobLogs("j1", { reconnectInterval: 5 })) {
        // no line ever comes
      }
    })(),
    (error: unknown) => error instanceof ConnectionError && /dropped 6 times in a row/.test(error.message),
  );
});
