import assert from "node:assert/strict";
import { test } from "node:test";
import type { Flavor } from "../src/index.js";
import {
  buildEnvVars,
  buildVolume,
  gpuModels,
  resolveFlavorForGpuModel,
  ValidationError,
} from "../src/index.js";

test("buildVolume gives the published form with RO and no cache by default", () => {
  assert.deepEqual(buildVolume({ container: "data", alias: "GRA", mountPath: "/workspace/data" }), {
    dataStore: { alias: "GRA", container: "data" },
    mountPath: "/workspace/data",
    permission: "RO",
    cache: false,
  });
});

test("buildVolume keeps prefix, permission and cache", () => {
  const volume = buildVolume({
    container: "my-bucket",
    alias: "my-data-alias",
    mountPath: "/workspace/data",
    prefix: "datasets/v1",
    permission: "RWD",
    cache: true,
  });
  assert.deepEqual(volume.dataStore, {
    alias: "my-data-alias",
    container: "my-bucket",
    prefix: "datasets/v1",
  });
  assert.equal(volume.permission, "RWD");
  assert.equal(volume.cache, true);
});

test("buildVolume refuses a relative mount path, naming the field", () => {
  assert.throws(
    () => buildVolume({ container: "c", alias: "a", mountPath: "workspace/data" }),
    (error: unknown) => error instanceof ValidationError && error.field === "mountPath",
  );
});

test("buildVolume refuses an unknown permission and lists the allowed ones", () => {
  assert.throws(
    // biome-ignore lint/suspicious/noExplicitAny: the point is a value the types forbid
    () => buildVolume({ container: "c", alias: "a", mountPath: "/d", permission: "WO" as any }),
    (error: unknown) =>
      error instanceof ValidationError && error.field === "permission" && /RO, RW, RWD/.test(error.message),
  );
});

test("buildVolume refuses a missing container or alias", () => {
  assert.throws(() => buildVolume({ container: "", alias: "a", mountPath: "/d" }), /container/);
  assert.throws(() => buildVolume({ container: "c", alias: "", mountPath: "/d" }), /alias/);
});

test("buildEnvVars turns every value into a string, in order", () => {
  assert.deepEqual(buildEnvVars({ EPOCHS: 100, BATCH_SIZE: "32", DEBUG: false }), [
    { name: "EPOCHS", value: "100" },
    { name: "BATCH_SIZE", value: "32" },
    { name: "DEBUG", value: "false" },
  ]);
});

test("buildEnvVars refuses a name that is not an environment variable name", () => {
  assert.throws(() => buildEnvVars({ "1BAD": "x" }), /envVars\.1BAD/);
  assert.throws(() => buildEnvVars({ "WITH-DASH": "x" }), ValidationError);
});

const flavors: Flavor[] = [
  { id: "ai1-1-cpu", type: "cpu", default: true, max: 12, resourcesPerUnit: { cpu: 1 } },
  {
    id: "ai1-1-gpu",
    type: "gpu",
    default: true,
    max: 4,
    resourcesPerUnit: { cpu: 13 },
    gpuInformation: { gpuBrand: "NVIDIA", gpuModel: "Tesla V100S", gpuMemory: 32 },
  },
  {
    id: "a100-1-gpu",
    type: "gpu",
    default: false,
    max: 4,
    resourcesPerUnit: { cpu: 15 },
    gpuInformation: { gpuBrand: "NVIDIA", gpuModel: "A100", gpuMemory: 80 },
  },
];

test("resolveFlavorForGpuModel picks the flavor carrying the model, loosely matched", () => {
  assert.equal(resolveFlavorForGpuModel(flavors, "V100S"), "ai1-1-gpu");
  assert.equal(resolveFlavorForGpuModel(flavors, "a100"), "a100-1-gpu");
});

test("resolveFlavorForGpuModel checks a given flavor against the model", () => {
  assert.equal(resolveFlavorForGpuModel(flavors, "V100S", "ai1-1-gpu"), "ai1-1-gpu");
  assert.throws(
    () => resolveFlavorForGpuModel(flavors, "A100", "ai1-1-gpu"),
    (error: unknown) =>
      error instanceof ValidationError && error.field === "gpuModel" && /Tesla V100S/.test(error.message),
  );
});

test("resolveFlavorForGpuModel lists the valid models for an unknown one", () => {
  assert.throws(
    () => resolveFlavorForGpuModel(flavors, "K80"),
    (error: unknown) => error instanceof ValidationError && /allowed: Tesla V100S, A100/.test(error.message),
  );
  assert.deepEqual(gpuModels(flavors), ["Tesla V100S", "A100"]);
});
