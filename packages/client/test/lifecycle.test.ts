import assert from "node:assert/strict";
import { test } from "node:test";
import {
  canTransition,
  DEFAULT_FAILURE_STATES,
  isActiveState,
  isFinalState,
  isKnownState,
  isSuccessState,
  KNOWN_JOB_STATES,
} from "../src/index.js";

test("final states are exactly DONE, FAILED, INTERRUPTED, ERROR, STOPPED, SYNC_FAILED", () => {
  const finals = KNOWN_JOB_STATES.filter(isFinalState);
  assert.deepEqual(finals.sort(), ["DONE", "ERROR", "FAILED", "INTERRUPTED", "STOPPED", "SYNC_FAILED"]);
});

test("only DONE is success", () => {
  assert.deepEqual(KNOWN_JOB_STATES.filter(isSuccessState), ["DONE"]);
});

test("the states counting against quota are QUEUED to RUNNING", () => {
  assert.deepEqual(KNOWN_JOB_STATES.filter(isActiveState), ["QUEUED", "INITIALIZING", "PENDING", "RUNNING"]);
});

test("an unknown state is kept, not final, not success, not known", () => {
  assert.equal(isKnownState("WARMING_UP"), false);
  assert.equal(isFinalState("WARMING_UP"), false);
  assert.equal(isSuccessState("WARMING_UP"), false);
});

test("every default failure state is final", () => {
  for (const state of DEFAULT_FAILURE_STATES) assert.ok(isFinalState(state), state);
});

test("transitions follow the platform's lifecycle", () => {
  assert.ok(canTransition("QUEUED", "INITIALIZING"));
  assert.ok(canTransition("RUNNING", "INTERRUPTING"));
  assert.ok(canTransition("TIMEOUT", "FINALIZING"));
  assert.ok(canTransition("FINALIZING", "DONE"));
  assert.ok(canTransition("RUNNING", "ERROR"));
  assert.ok(canTransition("DONE", "QUEUED"), "a restarted job goes back to QUEUED");
  assert.equal(canTransition("DONE", "RUNNING"), false);
  assert.equal(canTransition("QUEUED", "DONE"), false);
  assert.equal(canTransition("FAILED", "ERROR"), false, "a final state does not become ERROR");
});
