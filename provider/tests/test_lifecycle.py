"""The Python lifecycle module holds the same table as the TypeScript one, and waits decide by it."""

from __future__ import annotations

import re

import pytest

from apache_airflow_provider_ovhcloud_ai import lifecycle
from apache_airflow_provider_ovhcloud_ai.lifecycle import WaitOutcome, evaluate_wait
from emulator_process import REPO


def _ts_set(name: str) -> set[str]:
    source = (REPO / "packages" / "client" / "src" / "lifecycle.ts").read_text()
    match = re.search(rf"const {name}[^=]*=\s*new Set<KnownJobState>\(\[(.*?)\]\)", source, re.S)
    assert match, f"{name} not found in lifecycle.ts"
    return set(re.findall(r'"([A-Z_]+)"', match.group(1)))


@pytest.mark.parametrize(
    ("ts_name", "py_set"),
    [
        ("FINAL_STATES", lifecycle.FINAL_STATES),
        ("SUCCESS_STATES", lifecycle.SUCCESS_STATES),
        ("ACTIVE_STATES", lifecycle.ACTIVE_STATES),
    ],
)
def test_state_sets_match_the_typescript_lifecycle(ts_name: str, py_set: frozenset[str]) -> None:
    assert _ts_set(ts_name) == set(py_set)


def test_known_states_match_the_typescript_lifecycle() -> None:
    source = (REPO / "packages" / "client" / "src" / "lifecycle.ts").read_text()
    block = re.search(r"KNOWN_JOB_STATES = \[(.*?)\]", source, re.S)
    assert block
    assert tuple(re.findall(r'"([A-Z_]+)"', block.group(1))) == lifecycle.KNOWN_JOB_STATES


def test_unknown_state_is_not_final_and_keeps_a_wait_going() -> None:
    assert not lifecycle.is_final_state("BRAND_NEW_STATE")
    assert evaluate_wait("BRAND_NEW_STATE", ["DONE"], ["FAILED"]) is WaitOutcome.CONTINUE


def test_wait_fails_on_a_final_state_missing_from_failure_states() -> None:
    assert evaluate_wait("STOPPED", ["DONE"], ["FAILED"]) is WaitOutcome.FAILED
    assert evaluate_wait("INTERRUPTED", ["DONE"], []) is WaitOutcome.FAILED


def test_wait_for_running_fails_when_the_job_already_ended() -> None:
    assert evaluate_wait("DONE", ["RUNNING"], ["FAILED"]) is WaitOutcome.FAILED
    assert evaluate_wait("RUNNING", ["RUNNING"], ["FAILED"]) is WaitOutcome.REACHED
    assert evaluate_wait("QUEUED", ["RUNNING"], ["FAILED"]) is WaitOutcome.CONTINUE


def test_a_failure_state_that_is_not_final_fails_the_wait() -> None:
    assert evaluate_wait("TIMEOUT", ["DONE"], ["TIMEOUT"]) is WaitOutcome.FAILED


def test_normalize_states_accepts_one_string_and_lower_case() -> None:
    assert lifecycle.normalize_states("done", ["X"]) == ["DONE"]
    assert lifecycle.normalize_states(None, ("DONE",)) == ["DONE"]


def test_job_state_reads_status_and_survives_a_job_without_one() -> None:
    assert lifecycle.job_state({"status": {"state": "RUNNING"}}) == "RUNNING"
    assert lifecycle.job_state({}) == "UNKNOWN"
