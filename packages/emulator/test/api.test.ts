import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Job } from "@ai-training/client";
import { CONTRACT_ID, createValidators, describeErrors, loadContract } from "../src/server/contract.js";
import { type EmulatorProcess, startEmulatorProcess } from "../src/testing.js";
import { call, submit, waitForFinal, waitForLog, waitForState } from "./helpers.js";

interface List {
  items: Job[];
  metadata: {
    currentPage: number;
    pageCount: number;
    total: number;
    links: Array<{ rel: string; href: string }>;
  };
}

describe("authentication and roles", () => {
  let emulator: EmulatorProcess;
  let jobId: string;
  before(async () => {
    emulator = await startEmulatorProcess();
    jobId = (await submit(emulator, { image: "busybox", command: ["true"] })).id;
    await waitForFinal(emulator, jobId);
  });
  after(() => emulator.stop());

  test("a missing token answers 401 with a message saying how to send one", async () => {
    const answer = await call<{ message: string }>(emulator, "GET", "/v1/job", { token: null });
    assert.equal(answer.status, 401);
    assert.match(answer.body.message, /Authorization: Bearer/);
    assert.match(answer.headers.get("www-authenticate") ?? "", /Bearer/);
  });

  test("a wrong token answers 401 on every endpoint and the message never holds it", async () => {
    for (const [method, path] of [
      ["GET", "/v1/job"],
      ["POST", "/v1/job"],
      ["GET", `/v1/job/${jobId}`],
      ["GET", `/v1/job/${jobId}/log`],
      ["GET", "/v1/capabilities/flavor"],
      ["GET", "/v1/me"],
    ] as const) {
      const answer = await call<{ message: string }>(emulator, method, path, { token: "wrong-secret-123" });
      assert.equal(answer.status, 401, `${method} ${path}`);
      assert.doesNotMatch(answer.text, /wrong-secret-123/);
    }
  });

  test("a read token may read but every write answers 403", async () => {
    const read = { token: emulator.readToken };
    assert.equal((await call(emulator, "GET", "/v1/job", read)).status, 200);
    assert.equal((await call(emulator, "GET", `/v1/job/${jobId}`, read)).status, 200);
    assert.equal((await call(emulator, "GET", `/v1/job/${jobId}/log`, read)).status, 200);
    assert.equal((await call(emulator, "GET", "/v1/capabilities/flavor", read)).status, 200);
    for (const [method, path, body] of [
      ["POST", "/v1/job", { image: "busybox" }],
      ["PUT", `/v1/job/${jobId}/kill`, undefined],
      ["PUT", `/v1/job/${jobId}/start`, undefined],
      ["DELETE", `/v1/job/${jobId}`, undefined],
      ["PUT", `/v1/job/${jobId}/label`, { name: "a", value: "b" }],
    ] as const) {
      const answer = await call<{ message: string }>(emulator, method, path, { ...read, body });
      assert.equal(answer.status, 403, `${method} ${path}`);
      assert.match(answer.body.message, /read role/);
      assert.match(answer.body.message, /operator token/);
    }
    const list = await call<List>(emulator, "GET", "/v1/job");
    assert.equal(list.body.metadata.total, 1, "the read token created nothing");
  });

  test("/v1/me names the token's role", async () => {
    const operator = await call<{ name: string; role: string; tenant: string; tokenKind: string }>(
      emulator,
      "GET",
      "/v1/me",
    );
    assert.equal(operator.body.role, "operator");
    assert.ok(operator.body.name);
    assert.ok(operator.body.tenant);
    const reader = await call<{ role: string }>(emulator, "GET", "/v1/me", { token: emulator.readToken });
    assert.equal(reader.body.role, "read");
  });

  test("the flavor catalogue lists the platform's flavors with ai1-1-gpu as the default GPU flavor", async () => {
    const answer = await call<Array<{ id: string; type: string; default: boolean; max: number }>>(
      emulator,
      "GET",
      "/v1/capabilities/flavor",
    );
    const ids = answer.body.map((f) => f.id);
    for (const id of ["ai1-1-cpu", "ai1-1-gpu", "l4-1-gpu", "l40s-1-gpu", "a100-1-gpu", "h100-1-gpu"]) {
      assert.ok(ids.includes(id), id);
    }
    const defaults = answer.body.filter((f) => f.type === "gpu" && f.default).map((f) => f.id);
    assert.deepEqual(defaults, ["ai1-1-gpu"]);
    assert.ok(answer.body.every((f) => f.max >= 1));
  });
});

describe("logs", () => {
  let emulator: EmulatorProcess;
  before(async () => {
    emulator = await startEmulatorProcess();
  });
  after(() => emulator.stop());

  test("stdout and stderr lines come back in order, with tail and paging", async () => {
    const script = "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done";
    const job = await submit(emulator, { image: "busybox", command: ["sh", "-c", script] });
    await waitForState(emulator, job.id, "DONE");
    const all = await call(emulator, "GET", `/v1/job/${job.id}/log`);
    assert.match(all.headers.get("content-type") ?? "", /text\/plain/);
    const lines = all.text.trimEnd().split("\n");
    // Two pipes carry stdout and stderr, so lines written within microseconds of each other may swap
    // across streams; within a stream the order is always kept.
    assert.deepEqual(
      lines.filter((l) => l.startsWith("out")),
      ["out1", "out2", "out3", "out4", "out5"],
    );
    assert.deepEqual(
      lines.filter((l) => l.startsWith("err")),
      ["err1", "err2", "err3", "err4", "err5"],
    );
    assert.equal(lines.length, 10);
    const tail = await call(emulator, "GET", `/v1/job/${job.id}/log?tail=3`);
    assert.equal(tail.text, `${lines.slice(-3).join("\n")}\n`);
    const page = await call(emulator, "GET", `/v1/job/${job.id}/log?page=2&size=4`);
    assert.equal(page.text, `${lines.slice(4, 8).join("\n")}\n`);
    const bad = await call<{ message: string }>(emulator, "GET", `/v1/job/${job.id}/log?tail=-1`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /tail must be >= 0/);
  });

  test("a job printing 20,000 lines keeps every line, in order, with tail and paging exact", async () => {
    const job = await submit(emulator, { image: "busybox", command: ["seq", "1", "20000"] });
    await waitForState(emulator, job.id, "DONE");
    const all = await call(emulator, "GET", `/v1/job/${job.id}/log`);
    const lines = all.text.trimEnd().split("\n");
    assert.equal(lines.length, 20000);
    assert.ok(lines.every((line, i) => line === String(i + 1)));
    assert.equal((await call(emulator, "GET", `/v1/job/${job.id}/log?tail=2`)).text, "19999\n20000\n");
    assert.equal(
      (await call(emulator, "GET", `/v1/job/${job.id}/log?page=3&size=5`)).text,
      "11\n12\n13\n14\n15\n",
    );
    assert.equal((await call(emulator, "GET", `/v1/job/${job.id}/log?page=9999&size=5`)).text, "");
  });

  test("lines written apart in time keep their order across stdout and stderr", async () => {
    const script = "echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c; sleep 0.2; echo d >&2";
    const job = await submit(emulator, { image: "busybox", command: ["sh", "-c", script] });
    await waitForState(emulator, job.id, "DONE");
    const all = await call(emulator, "GET", `/v1/job/${job.id}/log`);
    assert.equal(all.text, "a\nb\nc\nd\n");
  });

  test("follow streams new lines as they come and closes when the job is final", async () => {
    const job = await submit(emulator, {
      image: "busybox",
      command: ["sh", "-c", "echo first; read x < /dev/null; sleep 0.3; echo second; sleep 0.3; echo third"],
    });
    await waitForLog(emulator, job.id, "first");
    const response = await fetch(`${emulator.url}/v1/job/${job.id}/log?follow=true`, {
      headers: { authorization: `Bearer ${emulator.token}` },
    });
    assert.equal(response.status, 200);
    const chunks: string[] = [];
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(decoder.decode(chunk, { stream: true }));
    }
    // The loop ends only because the emulator closed the stream once the job was final.
    assert.equal(chunks.join(""), "first\nsecond\nthird\n");
    assert.ok(chunks.length >= 2, "lines arrived in more than one chunk, as they were written");
    const final = await call<Job>(emulator, "GET", `/v1/job/${job.id}`);
    assert.equal(final.body.status.state, "DONE");
  });

  test("follow on an ended job answers its log and closes at once", async () => {
    const job = await submit(emulator, { image: "busybox", command: ["sh", "-c", "echo only"] });
    await waitForState(emulator, job.id, "DONE");
    const answer = await call(emulator, "GET", `/v1/job/${job.id}/log?follow=true&tail=1`);
    assert.equal(answer.text, "only\n");
  });
});

describe("listing, labels and delete", () => {
  let emulator: EmulatorProcess;
  const ids: Record<string, string> = {};
  before(async () => {
    emulator = await startEmulatorProcess();
    ids.a = (
      await submit(emulator, {
        image: "busybox",
        name: "a",
        command: ["true"],
        labels: { team: "ml", env: "prod" },
      })
    ).id;
    ids.b = (
      await submit(emulator, {
        image: "busybox",
        name: "b",
        command: ["false"],
        labels: { team: "ml", env: "dev" },
      })
    ).id;
    ids.c = (
      await submit(emulator, { image: "busybox", name: "c", command: ["true"], labels: { team: "web" } })
    ).id;
    for (const id of Object.values(ids)) await waitForFinal(emulator, id);
  });
  after(() => emulator.stop());

  test("the published shape {items, metadata} with paging and links", async () => {
    const page1 = await call<List>(emulator, "GET", "/v1/job?size=2&page=1");
    assert.equal(page1.body.items.length, 2);
    assert.equal(page1.body.metadata.total, 3);
    assert.equal(page1.body.metadata.pageCount, 2);
    assert.equal(page1.body.metadata.currentPage, 1);
    assert.ok(page1.body.metadata.links.some((l) => l.rel === "next" && l.href.includes("page=2")));
    const page2 = await call<List>(emulator, "GET", "/v1/job?size=2&page=2");
    assert.equal(page2.body.items.length, 1);
    const seen = new Set([...page1.body.items, ...page2.body.items].map((j) => j.id));
    assert.equal(seen.size, 3);
  });

  test("sort and order: newest first by default, by name ascending on request", async () => {
    const byDefault = await call<List>(emulator, "GET", "/v1/job");
    assert.deepEqual(
      byDefault.body.items.map((j) => j.spec.name),
      ["c", "b", "a"],
    );
    const byName = await call<List>(emulator, "GET", "/v1/job?sort=name&order=asc");
    assert.deepEqual(
      byName.body.items.map((j) => j.spec.name),
      ["a", "b", "c"],
    );
  });

  test("statusState (repeatable), labelSelector, userName and updatedAfter filter", async () => {
    const done = await call<List>(emulator, "GET", "/v1/job?statusState=DONE");
    assert.deepEqual(done.body.items.map((j) => j.spec.name).sort(), ["a", "c"]);
    const both = await call<List>(emulator, "GET", "/v1/job?statusState=DONE&statusState=FAILED");
    assert.equal(both.body.metadata.total, 3);
    const ml = await call<List>(
      emulator,
      "GET",
      `/v1/job?labelSelector=${encodeURIComponent("team=ml,env=prod")}`,
    );
    assert.deepEqual(
      ml.body.items.map((j) => j.spec.name),
      ["a"],
    );
    const anyEnv = await call<List>(emulator, "GET", "/v1/job?labelSelector=env");
    assert.equal(anyEnv.body.metadata.total, 2);
    const me = await call<{ name: string }>(emulator, "GET", "/v1/me");
    const mine = await call<List>(emulator, "GET", `/v1/job?userName=${encodeURIComponent(me.body.name)}`);
    assert.equal(mine.body.metadata.total, 3);
    const nobody = await call<List>(emulator, "GET", "/v1/job?userName=nobody");
    assert.equal(nobody.body.metadata.total, 0);
    const future = await call<List>(emulator, "GET", "/v1/job?updatedAfter=2999-01-01T00:00:00Z");
    assert.equal(future.body.metadata.total, 0);
    const past = await call<List>(emulator, "GET", "/v1/job?updatedAfter=2000-01-01T00:00:00Z");
    assert.equal(past.body.metadata.total, 3);
    const before2000 = await call<List>(emulator, "GET", "/v1/job?updatedBefore=2000-01-01T00:00:00Z");
    assert.equal(before2000.body.metadata.total, 0);
    const beforeFuture = await call<List>(
      emulator,
      "GET",
      "/v1/job?updatedBefore=2999-01-01T00:00:00%2B02:00",
    );
    assert.equal(beforeFuture.body.metadata.total, 3);
  });

  test("PUT label sets and removes a label, and refuses ovh/ keys", async () => {
    const id = ids.c as string;
    assert.equal(
      (await call(emulator, "PUT", `/v1/job/${id}/label`, { body: { name: "stage", value: "x" } })).status,
      204,
    );
    let job = await call<Job>(emulator, "GET", `/v1/job/${id}`);
    assert.equal(job.body.spec.labels?.stage, "x");
    const found = await call<List>(emulator, "GET", "/v1/job?labelSelector=stage=x");
    assert.deepEqual(
      found.body.items.map((j) => j.id),
      [id],
    );
    assert.equal(
      (await call(emulator, "PUT", `/v1/job/${id}/label`, { body: { name: "stage", value: null } })).status,
      204,
    );
    job = await call<Job>(emulator, "GET", `/v1/job/${id}`);
    assert.equal(job.body.spec.labels?.stage, undefined);
    const reserved = await call<{ message: string }>(emulator, "PUT", `/v1/job/${id}/label`, {
      body: { name: "ovh/id", value: "x" },
    });
    assert.equal(reserved.status, 400);
    assert.match(reserved.body.message, /ovh\//);
    const invalid = await call<{ message: string }>(emulator, "PUT", `/v1/job/${id}/label`, {
      body: { name: "has space", value: "x" },
    });
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.message, /label key 'has space' is not valid/);
    const missing = await call<{ message: string }>(emulator, "PUT", `/v1/job/${id}/label`, {
      body: { value: "x" },
    });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /name is required/);
  });

  test("deleting an active job needs force; with force it is stopped first; then 404", async () => {
    const job = await submit(emulator, { image: "busybox", command: ["sh", "-c", "echo up; sleep 60"] });
    await waitForLog(emulator, job.id, "up");
    const refused = await call<{ message: string }>(emulator, "DELETE", `/v1/job/${job.id}`);
    assert.equal(refused.status, 400);
    assert.match(refused.body.message, /force=true/);
    assert.match(refused.body.message, new RegExp(job.id));
    assert.equal(
      (await call(emulator, "GET", `/v1/job/${job.id}`)).status,
      200,
      "a refused delete changes nothing",
    );
    assert.equal((await call(emulator, "DELETE", `/v1/job/${job.id}?force=true`)).status, 204);
    assert.equal((await call(emulator, "GET", `/v1/job/${job.id}`)).status, 404);
    assert.equal((await call(emulator, "GET", `/v1/job/${job.id}/log`)).status, 404);
    assert.equal((await call(emulator, "DELETE", `/v1/job/${job.id}`)).status, 404);
  });

  test("a bodyless PUT sent with Content-Type application/json is accepted (kill)", async () => {
    const response = await fetch(`${emulator.url}/v1/job/${ids.a}/kill`, {
      method: "PUT",
      headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
    });
    assert.equal(response.status, 204);
  });

  test("deleting an ended job needs no force", async () => {
    const id = ids.b as string;
    assert.equal((await call(emulator, "DELETE", `/v1/job/${id}`)).status, 204);
    assert.equal((await call(emulator, "GET", `/v1/job/${id}`)).status, 404);
    const list = await call<List>(emulator, "GET", "/v1/job");
    assert.ok(!list.body.items.some((j) => j.id === id));
  });
});

describe("answers follow the contract", () => {
  let emulator: EmulatorProcess;
  before(async () => {
    emulator = await startEmulatorProcess();
  });
  after(() => emulator.stop());

  test("a job in several states, a list, the flavors and /v1/me validate against contract/openapi.json", async () => {
    const { body: ajv } = createValidators(loadContract());
    const check = (schema: string, value: unknown) => {
      const validate = ajv.compile({ $ref: `${CONTRACT_ID}#/components/schemas/${schema}` });
      assert.ok(validate(value), `${schema}: ${describeErrors(validate.errors ?? [], "body")}`);
    };
    const storage = `${emulator.dataDir}/object-storage/GRA/out`;
    const queued = await submit(emulator, {
      image: "busybox",
      command: ["sh", "-c", "echo hi > /workspace/out/file.txt"],
      volumes: [
        { mountPath: "/workspace/out", permission: "RW", dataStore: { alias: "GRA", container: "out" } },
      ],
      sshPublicKeys: ["ssh-ed25519 AAAA test"],
    });
    check("Job", queued);
    const done = await waitForFinal(emulator, queued.id);
    assert.equal(done.status.state, "DONE", done.status.info?.message);
    check("Job", done);
    assert.ok((done.status.dataSync ?? []).length > 0, `dataSync entries: ${storage}`);
    const failed = await waitForFinal(
      emulator,
      (await submit(emulator, { image: "busybox", command: ["false"] })).id,
    );
    check("Job", failed);
    const list = await call(emulator, "GET", "/v1/job");
    check("JobList", list.body);
    const flavors = await call<unknown[]>(emulator, "GET", "/v1/capabilities/flavor");
    for (const flavor of flavors.body) check("Flavor", flavor);
    check("Me", (await call(emulator, "GET", "/v1/me")).body);
    check("Error", (await call(emulator, "GET", "/v1/job/nope")).body);
  });
});
