"""The six operators, executed against a real emulator with a minimal task context."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import structlog

from apache_airflow_provider_ovhcloud_ai import exceptions as exc
from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
    OVHCloudAITrainingDeleteJobOperator,
    OVHCloudAITrainingGetJobOperator,
    OVHCloudAITrainingGetLogsOperator,
    OVHCloudAITrainingStopJobOperator,
    OVHCloudAITrainingSubmitJobOperator,
    OVHCloudAITrainingWaitForJobOperator,
)
from apache_airflow_provider_ovhcloud_ai.triggers.ai_training import DEFER_MARGIN
from conftest import IMAGE, TOKEN, Emulator, FakeTaskInstance, connection_json, context_for, python_command


class TaskLog:
    """The task log lines an operator wrote, rendered."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries

    @property
    def lines(self) -> list[str]:
        out = []
        for entry in self.entries:
            event = str(entry.get("event", ""))
            args = entry.get("positional_args")
            out.append(event % tuple(args) if args else event)
        return out

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def task_log() -> Iterator[TaskLog]:
    with structlog.testing.capture_logs() as entries:
        yield TaskLog(entries)


def _submit(**kwargs: Any) -> OVHCloudAITrainingSubmitJobOperator:
    args: dict[str, Any] = {"task_id": "submit_job", "image": IMAGE, "command": ["true"]}
    args.update(kwargs)
    return OVHCloudAITrainingSubmitJobOperator(**args)


def test_template_fields_cover_what_a_user_templates() -> None:
    fields = set(OVHCloudAITrainingSubmitJobOperator.template_fields)
    assert {"image", "name", "command", "env_vars", "labels", "volumes", "flavor"} <= fields
    for cls in (
        OVHCloudAITrainingGetJobOperator,
        OVHCloudAITrainingWaitForJobOperator,
        OVHCloudAITrainingStopJobOperator,
        OVHCloudAITrainingDeleteJobOperator,
        OVHCloudAITrainingGetLogsOperator,
    ):
        assert "job_id" in cls.template_fields


def test_submit_defaults_follow_the_document() -> None:
    op = OVHCloudAITrainingSubmitJobOperator(task_id="t", image=IMAGE)
    assert (op.gpu, op.wait_for_completion, op.check_interval, op.wait_timeout) == (0, False, 30, 3600)
    assert (op.ovh_conn_id, op.region, op.unsecure_http, op.name, op.command) == (
        "ovh_ai_training_default",
        None,
        False,
        None,
        None,
    )


def test_submit_returns_the_job_with_its_id_and_identity_labels(emulator: Emulator, hook: Any) -> None:
    ti = FakeTaskInstance()
    job = _submit(labels={"team": "ml"}).execute(context_for(ti))
    assert job["id"] and ti.xcom["return_value"]["id"] == job["id"]
    labels = hook.get_job(job["id"])["spec"]["labels"]
    assert labels["team"] == "ml"
    assert labels["airflow-dag-id"] == "test_dag" and labels["airflow-task-id"] == "submit_job"
    assert labels["airflow-run-id"] == "manual__2024-01-01T00.00.00_00.00"
    assert labels["airflow-map-index"] == "none"


def test_submit_with_image_only_ends_done(emulator: Emulator, hook: Any) -> None:
    op = OVHCloudAITrainingSubmitJobOperator(
        task_id="only_image", image="...", wait_for_completion=True, check_interval=1
    )
    job = op.execute(context_for(FakeTaskInstance(task_id="only_image")))
    assert job["status"]["state"] == "DONE"


def test_blocking_wait_streams_job_log_and_logs_each_state_once(
    emulator: Emulator, task_log: TaskLog
) -> None:
    code = "import time\nfor i in range(4):\n    print('step', i, flush=True); time.sleep(0.3)"
    op = _submit(command=python_command(code), wait_for_completion=True, check_interval=0.2, name="streamed")
    job = op.execute(context_for(FakeTaskInstance(task_id="streamed")))
    assert job["status"]["state"] == "DONE"
    text = task_log.text
    assert "Submitted job" in text and job["id"] in text and "region gra" in text
    assert [line for line in task_log.lines if line.startswith("[job ")] == [
        f"[job {job['id']}] step {i}" for i in range(4)
    ]
    assert TOKEN not in json.dumps(job)
    running = [line for line in task_log.lines if line.startswith(f"Job {job['id']} is RUNNING")]
    assert len(running) == 1
    assert f"Job {job['id']} ended DONE (exit code 0" in text
    assert TOKEN not in text


def test_submit_and_wait_failure_names_state_exit_code_and_log(emulator: Emulator) -> None:
    op = _submit(
        command=python_command("print('bad data'); raise SystemExit(4)"),
        wait_for_completion=True,
        check_interval=0.2,
    )
    ti = FakeTaskInstance(task_id="fails")
    with pytest.raises(exc.JobFailedError) as info:
        op.execute(context_for(ti))
    assert "exit code 4" in str(info.value) and "bad data" in str(info.value)
    assert ti.xcom["return_value"]["id"] == info.value.job_id


def test_wait_timeout_message_names_wait_timeout(emulator: Emulator, hook: Any) -> None:
    op = _submit(command=["sleep", "30"], wait_for_completion=True, check_interval=0.2, wait_timeout=1)
    with pytest.raises(exc.JobWaitTimeoutError, match="Increase `wait_timeout`") as info:
        op.execute(context_for(FakeTaskInstance(task_id="slow")))
    hook.delete_job(info.value.job_id, force=True)


def test_a_retry_reattaches_to_the_running_job_of_the_earlier_try(emulator: Emulator, hook: Any) -> None:
    first = _submit(command=["sleep", "30"]).execute(
        context_for(FakeTaskInstance(task_id="retried", try_number=1))
    )
    again = _submit(command=["sleep", "30"]).execute(
        context_for(FakeTaskInstance(task_id="retried", try_number=2))
    )
    assert again["id"] == first["id"]
    assert len(hook.list_jobs(label_selector={"airflow-task-id": "retried"})) == 1
    hook.delete_job(first["id"], force=True)


def test_a_retry_after_a_failed_job_submits_a_new_one(emulator: Emulator, hook: Any) -> None:
    ti1 = FakeTaskInstance(task_id="retried_failed", try_number=1)
    with pytest.raises(exc.JobFailedError):
        _submit(command=["false"], wait_for_completion=True, check_interval=0.2).execute(context_for(ti1))
    ti2 = FakeTaskInstance(task_id="retried_failed", try_number=2)
    job = _submit(command=["true"]).execute(context_for(ti2))
    assert job["id"] != ti1.xcom["return_value"]["id"]


def test_on_kill_stops_the_job(emulator: Emulator, hook: Any) -> None:
    op = _submit(command=["sleep", "60"])
    job = op.execute(context_for(FakeTaskInstance(task_id="killed")))
    hook.wait_for_job(job["id"], target_states=["RUNNING"], check_interval=0.2, timeout=30)
    op.on_kill()
    final = hook.wait_for_job(job["id"], target_states=["INTERRUPTED"], check_interval=0.2, timeout=30)
    assert final["status"]["state"] == "INTERRUPTED"


def test_get_job_operator_returns_the_job(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(image=IMAGE, command=["true"])
    got = OVHCloudAITrainingGetJobOperator(task_id="get_job_status", job_id=job["id"]).execute({})
    assert got["id"] == job["id"] and "status" in got


def test_wait_operator_takes_poke_interval_and_returns_the_job(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(image=IMAGE, command=["true"])
    op = OVHCloudAITrainingWaitForJobOperator(
        task_id="wait_for_job", job_id=job["id"], timeout=60, poke_interval=1
    )
    assert op.check_interval == 1
    assert op.execute({})["status"]["state"] == "DONE"


def test_wait_operator_fails_at_once_when_the_job_ended_elsewhere(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(image=IMAGE, command=["true"])
    hook.wait_for_job(job["id"], check_interval=0.2, timeout=30)
    op = OVHCloudAITrainingWaitForJobOperator(
        task_id="wait_until_running",
        job_id=job["id"],
        target_states=["RUNNING"],
        check_interval=300,
        timeout=600,
    )
    with pytest.raises(exc.JobFailedError, match="ended in state DONE"):
        op.execute({})


def test_wait_for_running_says_the_job_reached_it_without_exit_code_or_duration(
    emulator: Emulator, hook: Any, task_log: TaskLog
) -> None:
    job = hook.submit_job(image=IMAGE, command=["sleep", "30"])
    op = OVHCloudAITrainingWaitForJobOperator(
        task_id="wait_running", job_id=job["id"], target_states=["RUNNING"], check_interval=0.2, timeout=30
    )
    assert op.execute({})["status"]["state"] == "RUNNING"
    hook.delete_job(job["id"], force=True)
    assert f"Job {job['id']} reached RUNNING" in task_log.lines
    assert "ended RUNNING" not in task_log.text and "exit code" not in task_log.text


def test_a_submit_to_a_closed_port_names_the_post_and_says_no_job_was_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    from apache_airflow_provider_ovhcloud_ai._http import RetryPolicy

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_OVH_CLOSED", connection_json(f"http://127.0.0.1:{port}"))
    op = _submit(ovh_conn_id="ovh_closed")
    op.hook.retry = RetryPolicy(max_retries=1, initial_delay=0.01)
    with pytest.raises(exc.ApiConnectionError) as info:
        op.execute(context_for(FakeTaskInstance(task_id="closed_port")))
    message = str(info.value)
    assert f"POST http://127.0.0.1:{port}/v1/job failed" in message
    assert "No job was created" in message and "GET" not in message


def test_wait_operator_refuses_two_different_intervals() -> None:
    with pytest.raises(exc.OVHCloudAITrainingConfigError, match="poke_interval"):
        OVHCloudAITrainingWaitForJobOperator(task_id="w", job_id="x", check_interval=10, poke_interval=20)


def test_get_logs_returns_the_text_and_writes_it_into_the_task_log(
    emulator: Emulator, hook: Any, task_log: TaskLog
) -> None:
    job = hook.submit_job(image=IMAGE, command=python_command("for i in range(6): print('row', i)"))
    hook.wait_for_job(job["id"], check_interval=0.2, timeout=30)
    text = OVHCloudAITrainingGetLogsOperator(task_id="get_logs", job_id=job["id"], tail=2).execute({})
    assert text.splitlines() == ["row 4", "row 5"]
    assert f"[job {job['id']}] row 5" in task_log.lines


def test_get_logs_caps_what_goes_into_xcom_and_says_how_to_get_the_whole_log(
    emulator: Emulator, hook: Any, task_log: TaskLog
) -> None:
    job = hook.submit_job(image=IMAGE, command=python_command("for i in range(10005): print(i)"))
    hook.wait_for_job(job["id"], check_interval=0.2, timeout=60)
    # The default cap: 10,000 lines, the newest ones.
    text = OVHCloudAITrainingGetLogsOperator(task_id="get_logs", job_id=job["id"]).execute({})
    assert text.splitlines() == [str(i) for i in range(5, 10005)]
    cut_lines = [line for line in task_log.lines if "longer than max_lines" in line]
    assert len(cut_lines) == 1
    assert (
        f"get_job_logs('{job['id']}')" in cut_lines[0] and f"ai-training job logs {job['id']}" in cut_lines[0]
    )
    assert len([line for line in task_log.lines if line.startswith("[job ")]) == 10_000
    # A byte cap keeps whole lines from the end ("10001\n" is 6 bytes).
    small = OVHCloudAITrainingGetLogsOperator(task_id="l", job_id=job["id"], max_bytes=24).execute({})
    assert small.splitlines() == ["10001", "10002", "10003", "10004"]
    # No cap gives the whole log; a tail within the caps is not a cut.
    whole = OVHCloudAITrainingGetLogsOperator(
        task_id="l", job_id=job["id"], max_lines=None, max_bytes=None
    ).execute({})
    assert len(whole.splitlines()) == 10005
    OVHCloudAITrainingGetLogsOperator(task_id="l", job_id=job["id"], tail=3).execute({})
    assert len([line for line in task_log.lines if "longer than max_lines" in line]) == 2


def test_get_logs_refuses_a_cap_that_is_not_a_positive_integer() -> None:
    with pytest.raises(exc.OVHCloudAITrainingConfigError, match="max_bytes=0"):
        OVHCloudAITrainingGetLogsOperator(task_id="l", job_id="x", max_bytes=0)


def test_cap_log_cuts_a_single_line_longer_than_the_byte_cap() -> None:
    from apache_airflow_provider_ovhcloud_ai.operators.ai_training import _cap_log

    assert _cap_log("a\nbb\ncc\n", None, 6) == ("bb\ncc\n", True)
    assert _cap_log("a\nbb\n", 5, 100) == ("a\nbb\n", False)
    assert _cap_log("x" * 10, None, 4) == ("xxxx", True)


def test_stop_operator_stops_a_running_job_and_leaves_an_ended_one(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(image=IMAGE, command=["sleep", "60"])
    hook.wait_for_job(job["id"], target_states=["RUNNING"], check_interval=0.2, timeout=30)
    OVHCloudAITrainingStopJobOperator(task_id="stop_job", job_id=job["id"]).execute({})
    hook.wait_for_job(job["id"], target_states=["INTERRUPTED"], check_interval=0.2, timeout=30)
    again = OVHCloudAITrainingStopJobOperator(task_id="stop_job", job_id=job["id"]).execute({})
    assert again["status"]["state"] == "INTERRUPTED"


def test_delete_cleans_up_a_running_job(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(image=IMAGE, command=["sleep", "60"])
    OVHCloudAITrainingDeleteJobOperator(task_id="delete_job", job_id=job["id"]).execute({})
    with pytest.raises(exc.JobNotFoundError):
        hook.get_job(job["id"])


def test_delete_succeeds_when_there_is_nothing_to_delete(emulator: Emulator, task_log: TaskLog) -> None:
    OVHCloudAITrainingDeleteJobOperator(task_id="d1", job_id="None").execute({})
    OVHCloudAITrainingDeleteJobOperator(task_id="d2", job_id="0b5e1c2a-dead-beef-0000-000000000000").execute(
        {}
    )
    assert "No job to delete" in task_log.text and "nothing to delete" in task_log.text


def test_delete_without_force_refuses_a_running_job(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(image=IMAGE, command=["sleep", "60"])
    with pytest.raises(exc.OVHCloudAITrainingConfigError, match="force=True"):
        OVHCloudAITrainingDeleteJobOperator(task_id="d", job_id=job["id"], force=False).execute({})
    hook.delete_job(job["id"], force=True)


def test_extra_link_points_at_the_job(emulator: Emulator) -> None:
    op = _submit()
    job = op.execute(context_for(FakeTaskInstance(task_id="linked")))
    link = op.operator_extra_links[0].get_link(op, ti_key=None)  # type: ignore[arg-type]
    assert job["id"] in link and link.startswith(emulator.url)


# ---------------------------------------------------------------- deferrable


def _run_trigger(trigger: Any) -> dict[str, Any]:
    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first_event())


def test_deferrable_submit_defers_to_the_trigger_and_completes(emulator: Emulator, task_log: TaskLog) -> None:
    from airflow.sdk.exceptions import TaskDeferred

    op = _submit(
        command=python_command("print('deferred run')"),
        wait_for_completion=True,
        deferrable=True,
        check_interval=0.2,
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_for(FakeTaskInstance(task_id="deferred")))
    trigger = deferred.value.trigger
    _, kwargs = trigger.serialize()
    assert TOKEN not in repr(kwargs)
    assert kwargs["job_id"] == op.job_id and kwargs["timeout_parameter"] == "wait_timeout"
    assert deferred.value.timeout == timedelta(seconds=op.wait_timeout) + DEFER_MARGIN
    event = _run_trigger(trigger)
    assert event["status"] == "success"
    job = op.execute_complete({}, event)
    assert job["status"]["state"] == "DONE"
    assert "deferred run" in task_log.text


def test_deferrable_wait_raises_the_same_failure_as_a_blocking_one(emulator: Emulator, hook: Any) -> None:
    from airflow.sdk.exceptions import TaskDeferred

    job = hook.submit_job(image=IMAGE, command=python_command("print('oops'); raise SystemExit(2)"))
    op = OVHCloudAITrainingWaitForJobOperator(
        task_id="w", job_id=job["id"], check_interval=0.2, deferrable=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    event = _run_trigger(deferred.value.trigger)
    assert event["status"] == "failure"
    with pytest.raises(exc.JobFailedError, match="exit code 2") as info:
        op.execute_complete({}, event)
    assert "oops" in str(info.value)


@pytest.fixture(scope="module")
def slow_emulator(tmp_path_factory: pytest.TempPathFactory, emulator: Emulator) -> Iterator[Emulator]:
    from conftest import start_emulator

    emu = start_emulator(tmp_path_factory.mktemp("slow"), "--fault-latency-ms", "1500")
    # Same server, two connections: one whose requests give up before the server answers.
    os.environ["AIRFLOW_CONN_OVH_IMPATIENT"] = json.dumps(
        {
            "conn_type": "generic",
            "login": "gra",
            "password": TOKEN,
            "host": emu.url,
            "extra": {"request_timeout": 0.5},
        }
    )
    os.environ["AIRFLOW_CONN_OVH_PATIENT"] = connection_json(emu.url)
    yield emu
    emu.stop()


def test_a_submit_lost_in_flight_is_sent_once_and_a_retry_leaves_one_job(
    slow_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    original = httpx.Client.send

    def counting_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        sent.append(request.method)
        return original(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", counting_send)
    first_try = _submit(ovh_conn_id="ovh_impatient", command=["sleep", "30"])
    with pytest.raises(exc.ApiConnectionError, match=slow_emulator.url) as info:
        first_try.execute(context_for(FakeTaskInstance(task_id="lost_submit", try_number=1)))
    # The error is the POST's, not the lookup's, and says the job may exist.
    assert f"POST {slow_emulator.url}/v1/job failed" in str(info.value)
    assert "A job may have been created" in str(info.value)
    # The reads that look for the job were retried; the submit itself went out once.
    assert sent.count("POST") == 1 and sent.count("GET") > 1
    retry = _submit(ovh_conn_id="ovh_patient", command=["sleep", "30"])
    job = retry.execute(context_for(FakeTaskInstance(task_id="lost_submit", try_number=2)))
    patient = OVHCloudAITrainingHook("ovh_patient")
    assert [j["id"] for j in patient.list_jobs(label_selector={"airflow-task-id": "lost_submit"})] == [
        job["id"]
    ]
    patient.delete_job(job["id"], force=True)
