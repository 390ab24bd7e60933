"""
The job lifecycle, decided here and nowhere else in Python: which states exist, which are final, which
count as success, which hold quota, and what a wait does when a job reaches a state.

It holds the same table as the TypeScript client's ``lifecycle.ts``. The platform may answer a state this
module does not know (documents also name STOPPING, STOPPED and SYNC_FAILED, and new ones may come): an
unknown state is kept as it is and treated as not final, so a wait keeps waiting instead of crashing or
declaring a result it cannot know.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

#: Every state the API specification names, in lifecycle order.
KNOWN_JOB_STATES: tuple[str, ...] = (
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
)

FINAL_STATES: frozenset[str] = frozenset({"DONE", "FAILED", "INTERRUPTED", "ERROR", "STOPPED", "SYNC_FAILED"})
SUCCESS_STATES: frozenset[str] = frozenset({"DONE"})
#: States that count against the quota: the job holds (or waits for) an instance.
ACTIVE_STATES: frozenset[str] = frozenset({"QUEUED", "INITIALIZING", "PENDING", "RUNNING"})

#: What a wait fails on by default, as the user's document lists it.
DEFAULT_FAILURE_STATES: tuple[str, ...] = ("FAILED", "ERROR", "INTERRUPTED")
#: What a wait waits for by default.
DEFAULT_TARGET_STATES: tuple[str, ...] = ("DONE",)


def is_known_state(state: str) -> bool:
    """True when the API specification names this state."""
    return state in KNOWN_JOB_STATES


def is_final_state(state: str) -> bool:
    """True when the job will not change state again by itself. Unknown states are not final."""
    return state in FINAL_STATES


def is_success_state(state: str) -> bool:
    """True when the job ended well."""
    return state in SUCCESS_STATES


def is_active_state(state: str) -> bool:
    """True when the job holds or waits for an instance and counts against the quota."""
    return state in ACTIVE_STATES


def is_failure_final_state(state: str) -> bool:
    """True when the job ended and did not succeed."""
    return is_final_state(state) and not is_success_state(state)


def job_state(job: Mapping[str, Any]) -> str:
    """The state of a job as the API answered it, ``UNKNOWN`` when the answer carries none."""
    status = job.get("status") or {}
    state = status.get("state") if isinstance(status, Mapping) else None
    return str(state) if state else "UNKNOWN"


class WaitOutcome(enum.Enum):
    """What a wait does after looking at a job once."""

    REACHED = "reached"
    FAILED = "failed"
    CONTINUE = "continue"


def evaluate_wait(state: str, target_states: Iterable[str], failure_states: Iterable[str]) -> WaitOutcome:
    """
    Decide what a wait does for a job in ``state``.

    A target state ends the wait well. A failure state ends it badly, and so does any final state that is
    not a target, even one missing from ``failure_states``: such a job will never reach a target, so
    waiting longer would only burn the timeout.
    """
    if state in set(target_states):
        return WaitOutcome.REACHED
    if state in set(failure_states) or is_final_state(state):
        return WaitOutcome.FAILED
    return WaitOutcome.CONTINUE


def normalize_states(states: Iterable[str] | str | None, default: Iterable[str]) -> list[str]:
    """Upper-cased list of states; a single string is one state; ``None`` gives the default."""
    if states is None:
        return list(default)
    if isinstance(states, str):
        states = [states]
    return [str(s).strip().upper() for s in states if str(s).strip()]
