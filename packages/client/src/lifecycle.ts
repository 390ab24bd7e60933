/**
 * The job lifecycle, decided here and nowhere else in TypeScript: which states exist, which are final,
 * which count as success, which hold quota, and which transitions the platform makes.
 *
 * The platform may answer a state this module does not know (documents also name STOPPING, STOPPED and
 * SYNC_FAILED, and new ones may come). An unknown state is kept as it is and treated as not final, so a
 * client keeps waiting instead of crashing or declaring a result it cannot know.
 */

/** Every state the spec names, in lifecycle order. */
export const KNOWN_JOB_STATES = [
  "QUEUED",
  "INITIALIZING",
  "PENDING",
  "RUNNING",
  "INTERRUPTING",
  "TIMEOUT",
  "FINALIZING",
  "DONE",
  "FAILED",
  "INTERRUPTED",
  "ERROR",
  "STOPPING",
  "STOPPED",
  "SYNC_FAILED",
] as const;

export type KnownJobState = (typeof KNOWN_JOB_STATES)[number];

/** A state as the API answers it: a known one, or any other string kept verbatim. */
export type JobState = KnownJobState | (string & {});

const FINAL_STATES: ReadonlySet<string> = new Set<KnownJobState>([
  "DONE",
  "FAILED",
  "INTERRUPTED",
  "ERROR",
  "STOPPED",
  "SYNC_FAILED",
]);

const SUCCESS_STATES: ReadonlySet<string> = new Set<KnownJobState>(["DONE"]);

/** States that count against the quota: the job holds (or waits for) an instance. */
const ACTIVE_STATES: ReadonlySet<string> = new Set<KnownJobState>([
  "QUEUED",
  "INITIALIZING",
  "PENDING",
  "RUNNING",
]);

/** The states a caller of `waitForJob` fails on by default, as the user's document lists them. */
export const DEFAULT_FAILURE_STATES: readonly KnownJobState[] = ["FAILED", "ERROR", "INTERRUPTED"];

/** The states a caller of `waitForJob` waits for by default. */
export const DEFAULT_TARGET_STATES: readonly KnownJobState[] = ["DONE"];

/** True for a state the spec names; any other string is still a valid, kept, non-final state. */
export function isKnownState(state: string): state is KnownJobState {
  return (KNOWN_JOB_STATES as readonly string[]).includes(state);
}

/** True when the job will not change state again by itself. Unknown states are not final. */
export function isFinalState(state: string): boolean {
  return FINAL_STATES.has(state);
}

/** True when the job ended well. */
export function isSuccessState(state: string): boolean {
  return SUCCESS_STATES.has(state);
}

/** True when the job holds or waits for an instance and counts against the quota. */
export function isActiveState(state: string): boolean {
  return ACTIVE_STATES.has(state);
}

/**
 * The transitions the platform makes, as the emulator must make them. ERROR may follow any state that
 * is not final (a platform-side failure); a final state may go back to QUEUED when the job is restarted.
 */
const TRANSITIONS: Readonly<Record<string, readonly KnownJobState[]>> = {
  QUEUED: ["INITIALIZING", "INTERRUPTED"],
  INITIALIZING: ["PENDING", "FAILED", "INTERRUPTING"],
  PENDING: ["RUNNING", "FAILED", "INTERRUPTING"],
  RUNNING: ["FINALIZING", "INTERRUPTING", "TIMEOUT"],
  INTERRUPTING: ["FINALIZING"],
  TIMEOUT: ["FINALIZING"],
  FINALIZING: ["DONE", "FAILED", "INTERRUPTED"],
};

/** True when the platform may move a job from `from` to `to`. */
export function canTransition(from: string, to: string): boolean {
  if (to === "ERROR") return !isFinalState(from);
  if (to === "QUEUED") return isFinalState(from);
  return (TRANSITIONS[from] ?? []).includes(to as KnownJobState);
}
