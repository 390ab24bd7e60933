/**
 * The API's models under friendly names. They come from the types generated out of
 * `contract/openapi.json` (see `src/generated/contract.ts`, rebuilt by `npm run gen -w @ai-training/client`),
 * so the contract stays the one source of truth; only the job state is widened here to `JobState`, because
 * the platform may answer states the contract does not list and those must be kept, not rejected.
 */
import type { components, operations } from "./generated/contract.js";
import type { JobState } from "./lifecycle.js";

type Schemas = components["schemas"];

/** The body of `POST /v1/job`: what to run and how. Only `image` is required. */
export type JobSpec = Schemas["JobSpec"];
/** Compute asked for (`flavor`, `gpu`, `cpu`); answers also carry read-only figures such as `gpuModel`. */
export type Resources = Schemas["Resources"];
/** A volume mounted into the job: a data store container, a public git repository, or scratch space. */
export type Volume = Schemas["Volume"];
/** An Object Storage container behind a data-store alias, e.g. `{ alias: "GRA", container: "data" }`. */
export type DataStore = Schemas["DataStore"];
/** A public git repository mounted read-only. */
export type PublicGit = Schemas["PublicGit"];
/** The wrapped volume form some clients send (`volumeSource: { dataStore }`); servers accept both. */
export type VolumeSource = Schemas["VolumeSource"];
/** `RO` read-only, `RW` read-write (no deletions synced back), `RWD` read-write-delete. */
export type Permission = Schemas["Permission"];
/** One environment variable of the job; values are always strings on the wire. */
export type EnvVar = Schemas["EnvVar"];
/** Why a job is in its state, e.g. `{ code: "TIMEOUT", message: "..." }`. */
export type StatusInfo = Schemas["StatusInfo"];
/** Per-volume synchronisation status. */
export type VolumeStatus = Schemas["VolumeStatus"];
/** One data synchronisation (pull before, push after) with its progress. */
export type DataSync = Schemas["DataSync"];
/** A flavor a job may ask for, from `GET /v1/capabilities/flavor`. */
export type Flavor = Schemas["Flavor"];
/** Who the token belongs to, from `GET /v1/me`. */
export type Me = Schemas["Me"];
/** The paging block of the published list shape. */
export type ListMetadata = Schemas["ListMetadata"];
/** The body of `PUT /v1/job/{id}/label`; a null value removes the label. */
export type LabelUpdate = Schemas["LabelUpdate"];
/** The error body every failing endpoint answers: `{ message }`, other keys may appear. */
export type ApiErrorBody = Schemas["Error"];
/** The query parameters of `GET /v1/job` exactly as the contract names them. */
export type ListJobsQuery = NonNullable<operations["listJobs"]["parameters"]["query"]>;

/** One transition of a job, in order. */
export interface StateHistoryEntry extends Omit<Schemas["StateHistoryEntry"], "state"> {
  state: JobState;
}

/** Where a job is in its lifecycle; `state` may be one this client does not know, kept verbatim. */
export interface JobStatus extends Omit<Schemas["JobStatus"], "state" | "history"> {
  state: JobState;
  history: StateHistoryEntry[];
}

/** A job as the API answers it: its stored spec (defaults filled in) and its status. */
export interface Job extends Omit<Schemas["Job"], "status"> {
  status: JobStatus;
}

/** A page of jobs in the published shape; the client turns a bare array answer into this shape too. */
export interface JobList {
  items: Job[];
  metadata?: ListMetadata;
}
