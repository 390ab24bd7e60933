import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { AITrainingClient, REGIONS, ValidationError } from "../src/index.js";

test("regions map to their base URLs, gra by default", () => {
  assert.equal(new AITrainingClient({ token: "t" }).baseUrl, "https://gra.ai.cloud.ovh.net");
  assert.equal(new AITrainingClient({ token: "t", region: "bhs" }).baseUrl, "https://bhs.ai.cloud.ovh.net");
  assert.equal(new AITrainingClient({ token: "t", region: "BHS" }).region, "bhs");
  assert.deepEqual(Object.keys(REGIONS), ["gra", "bhs"]);
});

test("an endpoint overrides the region and loses its trailing slash", () => {
  const client = new AITrainingClient({ token: "t", region: "bhs", endpoint: "http://127.0.0.1:8080/" });
  assert.equal(client.baseUrl, "http://127.0.0.1:8080");
  assert.equal(client.region, undefined);
  assert.equal(
    new AITrainingClient({ token: "t", endpoint: "https://proxy.example/ai/" }).baseUrl,
    "https://proxy.example/ai",
  );
});

test("an unknown region is refused with the valid ones", () => {
  assert.throws(
    () => new AITrainingClient({ token: "t", region: "sbg" }),
    (error: unknown) =>
      error instanceof ValidationError && error.field === "region" && /allowed: gra, bhs/.test(error.message),
  );
});

test("an unknown region is refused even when an endpoint gives the URL", () => {
  assert.throws(
    () => new AITrainingClient({ token: "t", region: "xyz", endpoint: "http://127.0.0.1:8080" }),
    (error: unknown) =>
      error instanceof ValidationError &&
      error.field === "region" &&
      /"xyz" is not a known region.*endpoint.*\(allowed: gra, bhs\)/.test(error.message),
  );
  const local = new AITrainingClient({ token: "t", region: "BHS", endpoint: "http://127.0.0.1:8080" });
  assert.equal(local.baseUrl, "http://127.0.0.1:8080");
  assert.equal(
    new AITrainingClient({ token: "t", region: "", endpoint: "http://127.0.0.1:8080" }).region,
    undefined,
  );
});

test("a missing token is refused, naming where to put it", () => {
  assert.throws(() => new AITrainingClient({ token: "" }), /token: is missing.*OVH_AI_TRAINING_TOKEN/);
});

test("an endpoint that is not an http(s) URL is refused", () => {
  assert.throws(() => new AITrainingClient({ token: "t", endpoint: "localhost:8080" }), /endpoint/);
  assert.throws(() => new AITrainingClient({ token: "t", endpoint: "ftp://host" }), /http or https/);
});

test("an endpoint holding /v1 is refused, naming the base URL to use instead", () => {
  for (const [endpoint, base] of [
    ["http://127.0.0.1:8080/v1", "http://127.0.0.1:8080"],
    ["http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080"],
    ["https://proxy.example/ai/v1/job", "https://proxy.example/ai"],
  ]) {
    assert.throws(
      () => new AITrainingClient({ token: "t", endpoint }),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.field === "endpoint" &&
        error.message.includes("without /v1") &&
        error.message.endsWith(`use ${base}`),
      endpoint,
    );
  }
  assert.equal(new AITrainingClient({ token: "t", endpoint: "http://h/v10" }).baseUrl, "http://h/v10");
});

test("fromEnv reads the OVH_AI_TRAINING_* variables, and explicit options win", () => {
  const env = {
    OVH_AI_TRAINING_TOKEN: "from-env",
    OVH_AI_TRAINING_REGION: "bhs",
    OVH_AI_TRAINING_ENDPOINT: undefined,
  };
  assert.equal(AITrainingClient.fromEnv({}, env).baseUrl, REGIONS.bhs);
  assert.equal(AITrainingClient.fromEnv({ region: "gra" }, env).baseUrl, REGIONS.gra);
  const local = AITrainingClient.fromEnv({}, { ...env, OVH_AI_TRAINING_ENDPOINT: "http://127.0.0.1:9999" });
  assert.equal(local.baseUrl, "http://127.0.0.1:9999");
  assert.throws(() => AITrainingClient.fromEnv({}, {}), ValidationError);
});

test("the token is a private field: neither JSON nor console.log of the client shows it", () => {
  const client = new AITrainingClient({ token: "very-secret-token" });
  assert.ok(!JSON.stringify(client).includes("very-secret-token"));
  assert.ok(!inspect(client, { showHidden: true, depth: 5 }).includes("very-secret-token"));
  assert.ok(!Object.values(client).some((value) => String(value).includes("very-secret-token")));
});
