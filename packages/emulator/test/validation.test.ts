import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type EmulatorProcess, startEmulatorProcess } from "../src/testing.js";
import { call } from "./helpers.js";

const ds = { alias: "GRA", container: "data" };

/** Each malformed spec, and what the 400's message must name (the field, and allowed values if any). */
const MALFORMED: Array<{ why: string; spec: unknown; names: RegExp[] }> = [
  { why: "image missing", spec: { name: "x" }, names: [/image is required/] },
  { why: "image empty", spec: { image: "" }, names: [/image must not be empty/] },
  { why: "image not a string", spec: { image: 5 }, names: [/image must be a string/] },
  {
    why: "unknown top-level field",
    spec: { image: "a", gpus: 2 },
    names: [/gpus is not a known field/, /resources/],
  },
  { why: "name empty", spec: { image: "a", name: "" }, names: [/name must not be empty/] },
  { why: "name too long", spec: { image: "a", name: "n".repeat(256) }, names: [/name must be at most 255/] },
  {
    why: "command not an array",
    spec: { image: "a", command: "python train.py" },
    names: [/command must be an array/],
  },
  {
    why: "command item not a string",
    spec: { image: "a", command: ["python", 3] },
    names: [/command\[1\] must be a string/],
  },
  {
    why: "envVars not an array",
    spec: { image: "a", envVars: { A: "1" } },
    names: [/envVars must be an array/],
  },
  {
    why: "env name invalid",
    spec: { image: "a", envVars: [{ name: "1BAD", value: "x" }] },
    names: [/envVars\[0\]\.name/, /environment variable name/],
  },
  {
    why: "env name with dash",
    spec: { image: "a", envVars: [{ name: "MY-VAR", value: "x" }] },
    names: [/envVars\[0\]\.name/],
  },
  {
    why: "env value a number",
    spec: { image: "a", envVars: [{ name: "A", value: 1 }] },
    names: [/envVars\[0\]\.value must be a string/],
  },
  {
    why: "env value missing",
    spec: { image: "a", envVars: [{ name: "A" }] },
    names: [/envVars\[0\]\.value is required/],
  },
  {
    why: "env name repeated",
    spec: {
      image: "a",
      envVars: [
        { name: "A", value: "1" },
        { name: "A", value: "2" },
      ],
    },
    names: [/envVars\[1\]\.name/, /unique/],
  },
  {
    why: "unknown flavor",
    spec: { image: "a", resources: { flavor: "ai9-x" } },
    names: [/resources\.flavor/, /ai1-1-gpu/, /h100-1-gpu/],
  },
  {
    why: "too many GPUs",
    spec: { image: "a", resources: { flavor: "ai1-1-gpu", gpu: 9 } },
    names: [/resources\.gpu/, /at most 4/],
  },
  {
    why: "too many CPUs",
    spec: { image: "a", resources: { flavor: "ai1-1-cpu", cpu: 99 } },
    names: [/resources\.cpu/, /at most 12/],
  },
  {
    why: "GPU count on a CPU flavor",
    spec: { image: "a", resources: { flavor: "ai1-1-cpu", gpu: 1 } },
    names: [/resources\.gpu/],
  },
  {
    why: "negative GPU count",
    spec: { image: "a", resources: { gpu: -1 } },
    names: [/resources\.gpu must be >= 0/],
  },
  {
    why: "fractional GPU count",
    spec: { image: "a", resources: { gpu: 1.5 } },
    names: [/resources\.gpu must be an integer/],
  },
  {
    why: "unknown GPU model",
    spec: { image: "a", resources: { gpuModel: "TPU" } },
    names: [/resources\.gpuModel/, /V100S/],
  },
  {
    why: "unknown resources field",
    spec: { image: "a", resources: { ram: 4 } },
    names: [/resources\.ram is not a known field/],
  },
  {
    why: "bad permission",
    spec: { image: "a", volumes: [{ mountPath: "/d", permission: "RX", dataStore: ds }] },
    names: [/volumes\[0\]\.permission must be one of RO, RW, RWD/],
  },
  {
    why: "lower-case permission",
    spec: { image: "a", volumes: [{ mountPath: "/d", permission: "rw", dataStore: ds }] },
    names: [/volumes\[0\]\.permission must be one of RO, RW, RWD/],
  },
  {
    why: "relative mount path",
    spec: { image: "a", volumes: [{ mountPath: "data", dataStore: ds }] },
    names: [/volumes\[0\]\.mountPath must be an absolute path/],
  },
  {
    why: "mount path missing",
    spec: { image: "a", volumes: [{ dataStore: ds }] },
    names: [/volumes\[0\]\.mountPath is required/],
  },
  {
    why: "duplicate mount paths",
    spec: {
      image: "a",
      volumes: [
        { mountPath: "/d", dataStore: ds },
        { mountPath: "/d/", dataStore: ds },
      ],
    },
    names: [/volumes\[1\]\.mountPath/, /unique/],
  },
  {
    why: "volume without a source",
    spec: { image: "a", volumes: [{ mountPath: "/d" }] },
    names: [/volumes\[0\]/, /dataStore, publicGit, standalone/],
  },
  {
    why: "volume with two sources",
    spec: { image: "a", volumes: [{ mountPath: "/d", dataStore: ds, standalone: {} }] },
    names: [/volumes\[0\]/, /exactly one/],
  },
  {
    why: "dataStore without container",
    spec: { image: "a", volumes: [{ mountPath: "/d", dataStore: { alias: "GRA" } }] },
    names: [/volumes\[0\]\.dataStore\.container is required/],
  },
  {
    why: "dataStore with empty alias",
    spec: { image: "a", volumes: [{ mountPath: "/d", dataStore: { alias: "", container: "c" } }] },
    names: [/volumes\[0\]\.dataStore\.alias must not be empty/],
  },
  {
    why: "wrapped volumeSource with an unknown kind",
    spec: { image: "a", volumes: [{ mountPath: "/d", volumeSource: { s3: {} } }] },
    names: [/volumes\[0\]\.volumeSource\.s3 is not a known field/],
  },
  {
    why: "cache not a boolean",
    spec: { image: "a", volumes: [{ mountPath: "/d", dataStore: ds, cache: "yes" }] },
    names: [/volumes\[0\]\.cache must be a boolean/],
  },
  {
    why: "mount path at the root",
    spec: { image: "a", volumes: [{ mountPath: "//", dataStore: ds }] },
    names: [/volumes\[0\]\.mountPath/],
  },
  { why: "labels not an object", spec: { image: "a", labels: ["x"] }, names: [/labels must be an object/] },
  {
    why: "label value not a string",
    spec: { image: "a", labels: { team: 1 } },
    names: [/labels\.team must be a string/],
  },
  {
    why: "label key invalid",
    spec: { image: "a", labels: { "bad key!": "x" } },
    names: [/labels key 'bad key!'/],
  },
  { why: "timeout zero", spec: { image: "a", timeout: 0 }, names: [/timeout must be >= 1/] },
  { why: "timeout a string", spec: { image: "a", timeout: "3600" }, names: [/timeout must be an integer/] },
  { why: "timeout fractional", spec: { image: "a", timeout: 1.5 }, names: [/timeout must be an integer/] },
  {
    why: "http port too high",
    spec: { image: "a", defaultHttpPort: 70000 },
    names: [/defaultHttpPort must be <= 65535/],
  },
  { why: "grpc port zero", spec: { image: "a", grpcPort: 0 }, names: [/grpcPort must be >= 1/] },
  {
    why: "unsecureHttp a string",
    spec: { image: "a", unsecureHttp: "true" },
    names: [/unsecureHttp must be a boolean/],
  },
  {
    why: "ssh key empty",
    spec: { image: "a", sshPublicKeys: [""] },
    names: [/sshPublicKeys\[0\] must not be empty/],
  },
  { why: "body an array", spec: [{ image: "a" }], names: [/request body must be an object/] },
  {
    why: "publicGit written back",
    spec: { image: "a", volumes: [{ mountPath: "/g", permission: "RW", publicGit: { url: "https://x" } }] },
    names: [/volumes\[0\]\.permission must be RO/],
  },
];

describe("malformed job specs", () => {
  let emulator: EmulatorProcess;
  before(async () => {
    emulator = await startEmulatorProcess();
  });
  after(() => emulator.stop());

  test(`the table holds at least 30 cases (${MALFORMED.length})`, () => {
    assert.ok(MALFORMED.length >= 30);
  });

  for (const { why, spec, names } of MALFORMED) {
    test(`400 naming the field: ${why}`, async () => {
      const answer = await call<{ message: string }>(emulator, "POST", "/v1/job", { body: spec });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(typeof answer.body.message, "string");
      for (const name of names) assert.match(answer.body.message, name);
    });
  }

  test("no malformed spec created a job", async () => {
    const list = await call<{ items: unknown[]; metadata: { total: number } }>(emulator, "GET", "/v1/job");
    assert.equal(list.status, 200);
    assert.equal(list.body.metadata.total, 0);
    assert.deepEqual(list.body.items, []);
  });

  test("a body that is not JSON answers 400 saying so", async () => {
    const answer = await call<{ message: string }>(emulator, "POST", "/v1/job", { rawBody: "{image:" });
    assert.equal(answer.status, 400);
    assert.match(answer.body.message, /not valid JSON/);
  });

  test("both volume forms are accepted and stored in the published form", async () => {
    const answer = await call<{ spec: { volumes: Array<Record<string, unknown>> } }>(
      emulator,
      "POST",
      "/v1/job",
      {
        body: {
          image: "a",
          command: ["true"],
          volumes: [
            { mountPath: "/a", dataStore: ds },
            {
              mountPath: "/b",
              permission: "RW",
              volumeSource: { dataStore: { alias: "GRA", container: "out" } },
            },
          ],
        },
      },
    );
    assert.equal(answer.status, 200, answer.text);
    const [first, second] = answer.body.spec.volumes;
    assert.deepEqual(first?.dataStore, { prefix: "", ...ds });
    assert.equal(first?.permission, "RO");
    assert.deepEqual(second?.dataStore, { prefix: "", alias: "GRA", container: "out" });
    assert.equal(second?.volumeSource, undefined);
  });

  test("list query parameters are validated against the contract too", async () => {
    const bad = await call<{ message: string }>(emulator, "GET", "/v1/job?statusState=BOGUS");
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /statusState\[0\] must be one of QUEUED/);
    const order = await call<{ message: string }>(emulator, "GET", "/v1/job?order=up");
    assert.equal(order.status, 400);
    assert.match(order.body.message, /order must be one of asc, desc/);
    const size = await call<{ message: string }>(emulator, "GET", "/v1/job?size=0");
    assert.match(size.body.message, /size must be >= 1/);
    const date = await call<{ message: string }>(emulator, "GET", "/v1/job?updatedAfter=yesterday");
    assert.match(date.body.message, /updatedAfter must be an ISO-8601 date-time/);
  });
});
