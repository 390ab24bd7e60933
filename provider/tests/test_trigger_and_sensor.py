"""The trigger (its async generator, run here) and the sensor against a real emulator."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from apache_airflow_provider_ovhcloud_ai import exceptions as exc
from apache_airflow_provider_ovhcloud_ai.sensors.ai_training import OVHCloudAITrainingJobSensor
from apache_airflow_provider_ovhcloud_ai.triggers.ai_training import (
    DEFER_MARGIN,
    OVHCloudAITrainingJobTrigger,
)
from conftest import IMAGE, TOKEN, Emulator, python_command


def _first_event(trigger: OVHCloudAITrainingJobTrigger) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    return asyncio.run(run())


def test_serialize_round_trips_and_holds_no_token() -> None:
    trigger = OVHCloudAITrainingJobTrigger(
        job_id="j1", region="gra", check_interval=5, end_time=123.0, timeout=60
    )
    path, kwargs = trigger.serialize()
    assert path == "apache_airflow_provider_ovhcloud_ai.triggers.ai_training.OVHCloudAITrainingJobTrigger"
    assert TOKEN not in repr(kwargs)
    assert set(kwargs) == {
        "job_id",
        "ovh_conn_id",
        "region",
        "target_states",
        "failure_states",
        "check_interval",
        "end_time",
        "timeout",
        "timeout_parameter",
    }
    assert OVHCloudAITrainingJobTrigger(**kwargs).serialize() == (path, kwargs)


def test_trigger_fires_success_with_the_job(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(image=IMAGE, command=["true"])
    event = _first_event(OVHCloudAITrainingJobTrigger(job_id=job["id"], check_interval=0.2))
    assert event["status"] == "success" and event["job"]["status"]["state"] == "DONE"


def test_trigger_fires_failure_on_a_final_non_target_state(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(image=IMAGE, command=["false"])
    event = _first_event(OVHCloudAITrainingJobTrigger(job_id=job["id"], check_interval=0.2))
    assert event["status"] == "failure" and event["state"] == "FAILED"


def test_trigger_fires_timeout_with_the_last_state(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(image=IMAGE, command=["sleep", "30"])
    trigger = OVHCloudAITrainingJobTrigger(
        job_id=job["id"], check_interval=0.2, end_time=time.time() + 1, timeout=1
    )
    event = _first_event(trigger)
    assert event["status"] == "timeout" and event["state"] in ("QUEUED", "INITIALIZING", "PENDING", "RUNNING")
    hook.delete_job(job["id"], force=True)


def test_trigger_reports_an_unknown_job_as_an_error(emulator: Emulator) -> None:
    event = _first_event(OVHCloudAITrainingJobTrigger(job_id="no-such-job", check_interval=0.2))
    assert event["status"] == "error" and "404" in event["message"]


def test_trigger_reads_the_job_once_per_interval(
    emulator: Emulator, hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = hook.submit_job(image=IMAGE, command=python_command("import time; time.sleep(2)"))
    requests: list[str] = []
    original = httpx.AsyncClient.send

    async def counting_send(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        requests.append(f"{request.method} {request.url.path}")
        return await original(self, request, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", counting_send)
    started = time.monotonic()
    event = _first_event(OVHCloudAITrainingJobTrigger(job_id=job["id"], check_interval=0.5))
    elapsed = time.monotonic() - started
    assert event["status"] == "success"
    assert set(requests) == {f"GET /v1/job/{job['id']}"}
    # One read at the start, then at most one per interval that passed.
    assert len(requests) <= 1 + elapsed / 0.5 + 1e-9


def test_sensor_pokes_until_done(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(image=IMAGE, command=["sleep", "2"])
    sensor = OVHCloudAITrainingJobSensor(
        task_id="sense", job_id=job["id"], mode="reschedule", poke_interval=1
    )
    assert sensor.mode == "reschedule"
    assert sensor.poke({}) is False
    hook.wait_for_job(job["id"], check_interval=0.2, timeout=30)
    assert sensor.poke({}) is True


def test_sensor_fails_with_the_jobs_details(emulator: Emulator, hook: Any) -> None:
    job = hook.submit_job(
        image=IMAGE, command=python_command("print('sensor saw this'); raise SystemExit(5)")
    )
    hook.wait_for_job(job["id"], target_states=["FAILED"], check_interval=0.2, timeout=30)
    sensor = OVHCloudAITrainingJobSensor(task_id="sense", job_id=job["id"])
    with pytest.raises(exc.JobFailedError, match="exit code 5") as info:
        sensor.poke({})
    assert "sensor saw this" in str(info.value)


def test_deferrable_sensor_hands_the_wait_to_the_trigger(emulator: Emulator, hook: Any) -> None:
    from airflow.sdk.exceptions import TaskDeferred

    job = hook.submit_job(image=IMAGE, command=["sleep", "2"])
    sensor = OVHCloudAITrainingJobSensor(
        task_id="sense", job_id=job["id"], deferrable=True, poke_interval=1, timeout=60
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    _, kwargs = deferred.value.trigger.serialize()
    assert (kwargs["job_id"], kwargs["check_interval"], kwargs["timeout"]) == (job["id"], 1, 60)
    assert deferred.value.timeout == timedelta(seconds=60) + DEFER_MARGIN
    event = _first_event(deferred.value.trigger)
    assert event["status"] == "success"
    sensor.execute_complete({}, event)
