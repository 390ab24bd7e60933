/** Helpers of the emulator's HTTP tests: a bare fetch wrapper and polling until a job reaches a state. */
import type { Job, JobSpec } from "@ai-training/client";
import { isFinalState } from "@ai-training/client";
import type { EmulatorProcess } from "../src/testing.js";

export interface Answer<T = unknown> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** One HTTP call to the emulator with a bearer token (or none when `token` is null). */
export async function call<T = unknown>(
  emulator: EmulatorProcess,
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; rawBody?: string } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? emulator.token : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers["content-type"] = "application/json";
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get("content-type") ?? "").includes("application/json") && text !== "")
    parsed = JSON.parse(text);
  return { status: response.status, body: parsed as T, text, headers: response.headers };
}

/** Submits a job and returns it; fails the test when the emulator refuses it. */
export async function submit(emulator: EmulatorProcess, spec: JobSpec): Promise<Job> {
  const answer = await call<Job>(emulator, "POST", "/v1/job", { body: spec });
  if (answer.status !== 200) throw new Error(`submit answered ${answer.status}: ${answer.text}`);
  return answer.body;
}

export async function getJob(emulator: EmulatorProcess, id: string): Promise<Job> {
  const answer = await call<Job>(emulator, "GET", `/v1/job/${id}`);
  if (answer.status !== 200) throw new Error(`get ${id} answered ${answer.status}: ${answer.text}`);
  return answer.body;
}

/**
 * Polls the job until `accept` holds. The deadline only keeps a broken run from hanging; no test
 * asserts on how long anything took.
 */
export async function waitForJob(
  emulator: EmulatorProcess,
  id: string,
  accept: (job: Job) => boolean,
  what = "the expected state",
): Promise<Job> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = await getJob(emulator, id);
    if (accept(job)) return job;
    if (Date.now() > deadline)
      throw new Error(`job ${id} never reached ${what}; last state ${job.status.state}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until the job is in `state`. */
export function waitForState(emulator: EmulatorProcess, id: string, state: string): Promise<Job> {
  return waitForJob(emulator, id, (job) => job.status.state === state, state);
}

/** Waits until the job is final, whatever the final state. */
export function waitForFinal(emulator: EmulatorProcess, id: string): Promise<Job> {
  return waitForJob(emulator, id, (job) => isFinalState(job.status.state), "a final state");
}

/** The states of a job's history, in order. */
export function historyOf(job: Job): string[] {
  return job.status.history.map((entry) => entry.state);
}

/** Waits until the job's log contains `text`. */
export async function waitForLog(emulator: EmulatorProcess, id: string, text: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await call(emulator, "GET", `/v1/job/${id}/log`);
    if (answer.text.includes(text)) return answer.text;
    if (Date.now() > deadline) throw new Error(`job ${id}'s log never showed '${text}'; log: ${answer.text}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
