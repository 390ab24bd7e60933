/**
 * Checks a JobSpec before it is sent, so a mistake costs no request and no job. Each error names the
 * field (`volumes[1].mountPath`) and, for closed sets, the values allowed. The API checks again; this only
 * catches what is certain to be refused or to misbehave.
 */
import { ENV_VAR_NAME, PERMISSIONS, show } from "./builders.js";
import { ValidationError } from "./errors.js";
import type { JobSpec } from "./models.js";

function isPositiveInteger(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/**
 * Throws a `ValidationError` for the first problem found in `spec`.
 *
 * Checked: image present; name a non-empty string of at most 255 characters; command a list of strings;
 * mount paths absolute and unique; permission one of RO, RW, RWD; env var names valid and values
 * strings; no label key starting with `ovh/` (the platform owns those); gpu and cpu non-negative integers;
 * ports 1 to 65535; timeout a positive integer number of seconds.
 */
export function validateJobSpec(spec: JobSpec): void {
  if (spec === null || typeof spec !== "object") throw new ValidationError("spec", "must be an object");
  if (typeof spec.image !== "string" || spec.image.trim() === "") {
    throw new ValidationError("image", "is required: the Docker image to run, e.g. pytorch/pytorch:latest");
  }
  if (
    spec.name !== undefined &&
    (typeof spec.name !== "string" || spec.name === "" || spec.name.length > 255)
  ) {
    throw new ValidationError("name", "must be a non-empty string of at most 255 characters");
  }
  if (spec.command !== undefined) {
    if (!Array.isArray(spec.command) || spec.command.some((part) => typeof part !== "string")) {
      throw new ValidationError("command", 'must be a list of strings, e.g. ["python", "train.py"]');
    }
  }
  const seenMounts = new Map<string, number>();
  (spec.volumes ?? []).forEach((volume, index) => {
    const field = `volumes[${index}]`;
    if (volume === null || typeof volume !== "object") throw new ValidationError(field, "must be an object");
    const { mountPath, permission } = volume;
    if (typeof mountPath !== "string" || !mountPath.startsWith("/") || mountPath.length < 2) {
      throw new ValidationError(
        `${field}.mountPath`,
        `must be an absolute path such as /workspace/data, got ${show(mountPath)}`,
      );
    }
    const normalised = mountPath.replace(/\/+$/, "");
    const other = seenMounts.get(normalised);
    if (other !== undefined) {
      throw new ValidationError(
        `${field}.mountPath`,
        `${show(mountPath)} is already used by volumes[${other}]; each volume needs its own mount path`,
      );
    }
    seenMounts.set(normalised, index);
    if (permission !== undefined && !PERMISSIONS.includes(permission)) {
      throw new ValidationError(
        `${field}.permission`,
        `${show(permission)} is not one of the allowed values`,
        PERMISSIONS,
      );
    }
    const store = volume.dataStore ?? volume.volumeSource?.dataStore;
    if (store !== undefined) {
      if (typeof store.alias !== "string" || store.alias === "") {
        throw new ValidationError(`${field}.dataStore.alias`, "is required: the data store alias, e.g. GRA");
      }
      if (typeof store.container !== "string" || store.container === "") {
        throw new ValidationError(
          `${field}.dataStore.container`,
          "is required: the Object Storage container",
        );
      }
    }
  });
  const seenEnv = new Set<string>();
  (spec.envVars ?? []).forEach((envVar, index) => {
    const field = `envVars[${index}]`;
    if (typeof envVar?.name !== "string" || !ENV_VAR_NAME.test(envVar.name)) {
      throw new ValidationError(
        `${field}.name`,
        `${show(envVar?.name)} is not a valid environment variable name: use letters, digits and ` +
          "underscores, not starting with a digit",
      );
    }
    if (typeof envVar.value !== "string") {
      throw new ValidationError(
        `${field}.value`,
        `must be a string (buildEnvVars converts values), got ${show(envVar.value)}`,
      );
    }
    if (seenEnv.has(envVar.name)) {
      throw new ValidationError(`${field}.name`, `${envVar.name} is set twice; keep one value`);
    }
    seenEnv.add(envVar.name);
  });
  for (const [key, value] of Object.entries(spec.labels ?? {})) {
    if (key === "" || key.startsWith("ovh/")) {
      throw new ValidationError(
        `labels.${key}`,
        "label keys must be non-empty and must not start with ovh/ (the platform owns those)",
      );
    }
    if (typeof value !== "string")
      throw new ValidationError(`labels.${key}`, `value must be a string, got ${show(value)}`);
  }
  const resources = spec.resources;
  if (resources !== undefined) {
    if (resources.gpu !== undefined && !isCount(resources.gpu)) {
      throw new ValidationError(
        "resources.gpu",
        `must be a whole number of GPUs (0 or more), got ${show(resources.gpu)}`,
      );
    }
    if (resources.cpu !== undefined && !isCount(resources.cpu)) {
      throw new ValidationError(
        "resources.cpu",
        `must be a whole number of CPUs (0 or more), got ${show(resources.cpu)}`,
      );
    }
    if (resources.flavor !== undefined && (typeof resources.flavor !== "string" || resources.flavor === "")) {
      throw new ValidationError(
        "resources.flavor",
        "must be a flavor id such as ai1-1-gpu (list them with listFlavors)",
      );
    }
  }
  for (const port of ["defaultHttpPort", "grpcPort"] as const) {
    const value = spec[port];
    if (value !== undefined && (!isPositiveInteger(value) || value > 65535)) {
      throw new ValidationError(port, `must be a port number from 1 to 65535, got ${show(value)}`);
    }
  }
  if (spec.timeout !== undefined && !isPositiveInteger(spec.timeout)) {
    throw new ValidationError(
      "timeout",
      `must be a positive whole number of seconds, got ${show(spec.timeout)}`,
    );
  }
  if (spec.sshPublicKeys !== undefined) {
    if (
      !Array.isArray(spec.sshPublicKeys) ||
      spec.sshPublicKeys.some((k) => typeof k !== "string" || k === "")
    ) {
      throw new ValidationError("sshPublicKeys", "must be a list of non-empty public key strings");
    }
  }
}
