/**
 * Turning a submitted JobSpec into the stored Job: the checks the contract's schema cannot express,
 * the defaults the platform fills in, and the platform-owned labels.
 */
import { randomUUID } from "node:crypto";
import type { Job, JobSpec, Volume } from "@ai-training/client";
import { resolveResources } from "./flavors.js";

/** Raised for a spec the schema accepts but the platform would refuse; the message names the field. */
export class SpecError extends Error {
  override readonly name = "SpecError";
}

/** Label keys with this prefix belong to the platform: a user's are dropped and the platform's set. */
export const PLATFORM_LABEL_PREFIX = "ovh/";

/** Seven days, the platform's default `timeout`. */
export const DEFAULT_TIMEOUT_SECONDS = 604_800;
export const DEFAULT_HTTP_PORT = 8080;

/** What the emulator knows about itself when it builds a job's access points. */
export interface JobContext {
  /** The emulator's base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** The owner of the token that submitted the job. */
  userName: string;
}

/**
 * Brings a volume to the published form (`dataStore` on the volume itself) whatever form was sent,
 * with its defaults (`permission` RO, `cache` false). Throws when it has no source or more than one.
 */
export function normalizeVolume(volume: Volume, index: number): Volume {
  const field = `volumes[${index}]`;
  const { volumeSource, ...rest } = volume;
  const sources: Record<string, unknown> = {};
  for (const kind of ["dataStore", "publicGit", "standalone"] as const) {
    const direct = rest[kind];
    const wrapped = volumeSource?.[kind];
    if (direct !== undefined && wrapped !== undefined) {
      throw new SpecError(`${field} gives ${kind} twice, on the volume and in volumeSource; keep one`);
    }
    if (direct !== undefined || wrapped !== undefined) sources[kind] = direct ?? wrapped;
  }
  const kinds = Object.keys(sources);
  if (kinds.length === 0) {
    throw new SpecError(`${field} needs a source: one of dataStore, publicGit, standalone`);
  }
  if (kinds.length > 1) {
    throw new SpecError(`${field} has ${kinds.length} sources (${kinds.join(", ")}); give exactly one`);
  }
  const permission = rest.permission ?? "RO";
  if (sources.publicGit !== undefined && permission !== "RO") {
    throw new SpecError(
      `${field}.permission must be RO for a publicGit volume (a git repository is read-only)`,
    );
  }
  const out: Volume = { ...rest, permission, cache: rest.cache ?? false };
  delete out.dataStore;
  delete out.publicGit;
  delete out.standalone;
  const [kind] = kinds;
  if (kind === "dataStore")
    out.dataStore = { prefix: "", ...(sources.dataStore as NonNullable<Volume["dataStore"]>) };
  if (kind === "publicGit") out.publicGit = sources.publicGit as NonNullable<Volume["publicGit"]>;
  if (kind === "standalone") out.standalone = sources.standalone as NonNullable<Volume["standalone"]>;
  return out;
}

function normalizeMountPath(mountPath: string): string {
  const trimmed = mountPath.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed.replace(/\/{2,}/g, "/");
}

/** The checks on a spec beyond its schema. Throws SpecError naming the field. */
export function checkSpec(spec: JobSpec): void {
  const seen = new Map<string, number>();
  for (const [index, volume] of (spec.volumes ?? []).entries()) {
    const mountPath = normalizeMountPath(volume.mountPath);
    if (mountPath === "/") throw new SpecError(`volumes[${index}].mountPath must not be the root folder /`);
    if (mountPath.split("/").includes("..")) {
      throw new SpecError(`volumes[${index}].mountPath '${volume.mountPath}' must not contain '..'`);
    }
    const earlier = seen.get(mountPath);
    if (earlier !== undefined) {
      throw new SpecError(
        `volumes[${index}].mountPath '${volume.mountPath}' is already used by volumes[${earlier}]; mount paths must be unique`,
      );
    }
    seen.set(mountPath, index);
  }
  const names = new Map<string, number>();
  for (const [index, env] of (spec.envVars ?? []).entries()) {
    const earlier = names.get(env.name);
    if (earlier !== undefined) {
      throw new SpecError(
        `envVars[${index}].name '${env.name}' is already set by envVars[${earlier}]; names must be unique`,
      );
    }
    names.set(env.name, index);
  }
  for (const key of Object.keys(spec.labels ?? {})) checkLabelKey(key, `labels`);
  if (spec.command !== undefined && spec.command.length > 0 && spec.command[0] === "") {
    throw new SpecError("command[0] must not be empty: it names the program to run");
  }
}

const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;

/** Label keys: 1 to 63 letters, digits, `.`, `_`, `-`, `/`, starting and ending with a letter or digit. */
export function checkLabelKey(key: string, field: string): void {
  if (key.startsWith(PLATFORM_LABEL_PREFIX)) return; // dropped and replaced, as the platform does
  if (!LABEL_KEY.test(key)) {
    throw new SpecError(
      `${field} key '${key}' is not valid: use 1 to 63 letters, digits, '.', '_', '-' or '/', starting and ending with a letter or digit`,
    );
  }
}

/** A generated job name in the platform's style. */
function generatedName(id: string): string {
  return `job-${id.slice(0, 8)}`;
}

/** The labels the platform sets on every job; user labels with the same prefix are dropped. */
export function platformLabels(job: Pick<Job, "id" | "user">): Record<string, string> {
  return { "ovh/id": job.id, "ovh/type": "job", "ovh/user": job.user ?? "" };
}

/** User labels without the platform's keys, plus the platform's own. */
export function withPlatformLabels(
  labels: Record<string, string> | undefined,
  job: Pick<Job, "id" | "user">,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (!key.startsWith(PLATFORM_LABEL_PREFIX)) out[key] = value;
  }
  return { ...out, ...platformLabels(job) };
}

/**
 * Builds a new QUEUED job from a validated spec: checks, defaults, resolved resources, platform labels,
 * access points. Throws SpecError or ResourcesError for a spec the platform would refuse.
 */
export function buildJob(submitted: JobSpec, context: JobContext, now = new Date()): Job {
  checkSpec(submitted);
  const id = randomUUID();
  const user = context.userName;
  const volumes = (submitted.volumes ?? []).map(normalizeVolume);
  const spec: JobSpec = {
    ...submitted,
    name: submitted.name ?? generatedName(id),
    command: submitted.command ?? [],
    envVars: submitted.envVars ?? [],
    resources: resolveResources(submitted.resources),
    volumes,
    labels: withPlatformLabels(submitted.labels, { id, user }),
    sshPublicKeys: submitted.sshPublicKeys ?? [],
    defaultHttpPort: submitted.defaultHttpPort ?? DEFAULT_HTTP_PORT,
    timeout: submitted.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    timeoutAutoRestart: submitted.timeoutAutoRestart ?? false,
    unsecureHttp: submitted.unsecureHttp ?? false,
  };
  const date = now.toISOString();
  const jobUrl = `${context.baseUrl}/v1/job/${id}`;
  return {
    id,
    createdAt: date,
    updatedAt: date,
    user,
    spec,
    status: {
      state: "QUEUED",
      history: [{ state: "QUEUED", date }],
      queuedAt: date,
      lastTransitionDate: date,
      // The emulator serves no job HTTP endpoint; these are where the platform would put them, locally.
      url: `http://${id}.job.localhost:${spec.defaultHttpPort}`,
      infoUrl: jobUrl,
      monitoringUrl: `${jobUrl}/log`,
      ...(spec.sshPublicKeys && spec.sshPublicKeys.length > 0 ? { sshUrl: `ssh://${id}@127.0.0.1` } : {}),
      ip: "127.0.0.1",
      externalIp: "127.0.0.1",
      volumes: volumes.map((volume, index) => ({ id: `${id}-volume-${index}`, mountPath: volume.mountPath })),
      dataSync: [],
    },
  };
}
