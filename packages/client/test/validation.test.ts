import assert from "node:assert/strict";
import { test } from "node:test";
import { type JobSpec, ValidationError, validateJobSpec } from "../src/index.js";

const good: JobSpec = {
  image: "python:3.12",
  name: "train",
  command: ["python", "train.py"],
  envVars: [{ name: "EPOCHS", value: "3" }],
  volumes: [
    { dataStore: { alias: "GRA", container: "data" }, mountPath: "/workspace/data", permission: "RO" },
    { dataStore: { alias: "GRA", container: "out" }, mountPath: "/workspace/out", permission: "RW" },
  ],
  labels: { team: "ml" },
  resources: { flavor: "ai1-1-gpu", gpu: 1 },
  timeout: 3600,
};

test("a correct spec passes", () => {
  assert.doesNotThrow(() => validateJobSpec(good));
});

// Each case: a broken spec, the field the error must name, and a word the message must contain.
const cases: Array<[string, JobSpec, string, RegExp]> = [
  ["image missing", { ...good, image: "" }, "image", /required/],
  ["image not a string", { ...good, image: 3 as unknown as string }, "image", /required/],
  [
    "relative mount path",
    { ...good, volumes: [{ dataStore: { alias: "a", container: "c" }, mountPath: "data" }] },
    "volumes[0].mountPath",
    /absolute/,
  ],
  [
    "same mount path twice",
    {
      ...good,
      volumes: [
        { dataStore: { alias: "a", container: "c" }, mountPath: "/d" },
        { dataStore: { alias: "a", container: "e" }, mountPath: "/d/" },
      ],
    },
    "volumes[1].mountPath",
    /volumes\[0\]/,
  ],
  [
    "unknown permission",
    {
      ...good,
      volumes: [{ mountPath: "/d", permission: "rw" as "RW", dataStore: { alias: "a", container: "c" } }],
    },
    "volumes[0].permission",
    /allowed: RO, RW, RWD/,
  ],
  ["bad env var name", { ...good, envVars: [{ name: "MY-VAR", value: "1" }] }, "envVars[0].name", /letters/],
  [
    "env var value not a string",
    { ...good, envVars: [{ name: "N", value: 1 as unknown as string }] },
    "envVars[0].value",
    /string/,
  ],
  ["platform label", { ...good, labels: { "ovh/id": "x" } }, "labels.ovh/id", /ovh\//],
  ["timeout zero", { ...good, timeout: 0 }, "timeout", /positive/],
  ["timeout fractional", { ...good, timeout: 1.5 }, "timeout", /positive/],
  ["timeout negative", { ...good, timeout: -5 }, "timeout", /positive/],
  ["gpu negative", { ...good, resources: { gpu: -1 } }, "resources.gpu", /0 or more/],
  ["port out of range", { ...good, defaultHttpPort: 70000 }, "defaultHttpPort", /65535/],
  ["command not strings", { ...good, command: [1] as unknown as string[] }, "command", /list of strings/],
  [
    "data store without container",
    { ...good, volumes: [{ mountPath: "/d", dataStore: { alias: "a", container: "" } }] },
    "volumes[0].dataStore.container",
    /required/,
  ],
];

for (const [title, spec, field, words] of cases) {
  test(`refused before sending: ${title}`, () => {
    assert.throws(
      () => validateJobSpec(spec),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${error}`);
        assert.equal(error.field, field);
        assert.match(error.message, words);
        return true;
      },
    );
  });
}
