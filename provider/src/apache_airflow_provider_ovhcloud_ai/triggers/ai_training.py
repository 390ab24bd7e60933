"""The trigger that waits for a job in the triggerer, so a deferred task holds no worker slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any, NoReturn, Protocol

from airflow.triggers.base import BaseTrigger, TriggerEvent

from apache_airflow_provider_ovhcloud_ai import lifecycle
from apache_airflow_provider_ovhcloud_ai.config import effective_check_interval
from apache_airflow_provider_ovhcloud_ai.exceptions import (
    MAX_CONSECUTIVE_TRANSIENT_ERRORS,
    TRANSIENT_ERRORS,
    OVHCloudAITrainingError,
)
from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

#: Extra time the deferral itself is given beyond the wait's own limit, so the trigger's clear timeout
#: message wins over Airflow's generic one.
DEFER_MARGIN = timedelta(minutes=5)


class OVHCloudAITrainingJobTrigger(BaseTrigger):
    """
    Polls one job, one GET per check interval, until a target state, a failure, or the deadline.

    It fires one event whose ``status`` is ``success``, ``failure`` (the job reached a failure state or
    another final state that is not a target), ``timeout`` or ``error`` (the API could not be read), with
    ``job_id``, ``state`` and, for success and failure, the ``job``. The task's ``execute_complete`` turns
    it into a result or an error. Only ids, states and intervals are serialized: the token is read from
    the connection in the triggerer.

    :param job_id: the job to wait for.
    :param ovh_conn_id: Airflow connection id.
    :param region: region that overrides the connection's login.
    :param target_states: states that end the wait well.
    :param failure_states: states that end it badly (any other final state does too).
    :param check_interval: seconds between two reads of the job.
    :param end_time: epoch seconds after which the wait gives up (``None``: no limit).
    :param timeout: the limit, in seconds, as the user gave it (for the message).
    :param timeout_parameter: the parameter the timeout message tells the user to raise.
    """

    def __init__(
        self,
        job_id: str,
        ovh_conn_id: str = OVHCloudAITrainingHook.default_conn_name,
        region: str | None = None,
        target_states: Sequence[str] | None = None,
        failure_states: Sequence[str] | None = None,
        check_interval: float = 30,
        end_time: float | None = None,
        timeout: float | None = None,
        timeout_parameter: str = "timeout",
    ) -> None:
        super().__init__()
        self.job_id = str(job_id)
        self.ovh_conn_id = ovh_conn_id
        self.region = region
        self.target_states = lifecycle.normalize_states(target_states, lifecycle.DEFAULT_TARGET_STATES)
        self.failure_states = lifecycle.normalize_states(failure_states, lifecycle.DEFAULT_FAILURE_STATES)
        self.check_interval = float(check_interval)
        self.end_time = end_time
        self.timeout = timeout
        self.timeout_parameter = timeout_parameter

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and arguments; never the token."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "ovh_conn_id": self.ovh_conn_id,
                "region": self.region,
                "target_states": list(self.target_states),
                "failure_states": list(self.failure_states),
                "check_interval": self.check_interval,
                "end_time": self.end_time,
                "timeout": self.timeout,
                "timeout_parameter": self.timeout_parameter,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Read the job once per interval and fire one event when the wait is over."""
        hook = OVHCloudAITrainingHook(ovh_conn_id=self.ovh_conn_id, region=self.region)
        last_state: str | None = None
        state = "UNKNOWN"
        transient_errors = 0
        try:
            while True:
                try:
                    job = await hook.aget_job(self.job_id)
                    transient_errors = 0
                except TRANSIENT_ERRORS as error:
                    # Same tolerance as the blocking wait: one outage must not fail a wait of hours.
                    transient_errors += 1
                    if transient_errors > MAX_CONSECUTIVE_TRANSIENT_ERRORS:
                        raise
                    self.log.warning(
                        "Could not read job %s (%s); trying again at the next check", self.job_id, error
                    )
                    await asyncio.sleep(effective_check_interval(self.check_interval))
                    continue
                state = lifecycle.job_state(job)
                if state != last_state:
                    self.log.info("Job %s is %s", self.job_id, state)
                    last_state = state
                outcome = lifecycle.evaluate_wait(state, self.target_states, self.failure_states)
                if outcome is not lifecycle.WaitOutcome.CONTINUE:
                    status = "success" if outcome is lifecycle.WaitOutcome.REACHED else "failure"
                    yield TriggerEvent({"status": status, "job_id": self.job_id, "state": state, "job": job})
                    return
                pause = effective_check_interval(self.check_interval)
                if self.end_time is not None:
                    left = self.end_time - time.time()
                    if left <= 0:
                        yield TriggerEvent(self._timeout_event(state))
                        return
                    pause = min(pause, left)
                await asyncio.sleep(pause)
        except OVHCloudAITrainingError as error:
            yield TriggerEvent(
                {"status": "error", "job_id": self.job_id, "state": state, "message": str(error)}
            )

    def _timeout_event(self, state: str) -> dict[str, Any]:
        return {
            "status": "timeout",
            "job_id": self.job_id,
            "state": state,
            "timeout": self.timeout,
            "timeout_parameter": self.timeout_parameter,
            "target_states": list(self.target_states),
        }


class JobWaitingTask(Protocol):
    """An operator or sensor that waits for one job: what :func:`defer_until_job_state` reads from it."""

    @property
    def job_id(self) -> str | None: ...

    @property
    def ovh_conn_id(self) -> str: ...

    @property
    def region(self) -> str | None: ...

    @property
    def target_states(self) -> Sequence[str]: ...

    @property
    def failure_states(self) -> Sequence[str]: ...

    def defer(
        self,
        *,
        trigger: BaseTrigger,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | int | float | None = None,
    ) -> NoReturn: ...


def defer_until_job_state(
    task: JobWaitingTask,
    *,
    check_interval: float,
    timeout: float | None,
    timeout_parameter: str = "timeout",
) -> NoReturn:
    """
    Hand the task's wait for its job to :class:`OVHCloudAITrainingJobTrigger` (job, connection, region and
    states are the task's); the task resumes in its ``execute_complete`` with the trigger's event.

    :param task: the operator or sensor that defers.
    :param check_interval: seconds between two reads of the job.
    :param timeout: seconds the wait may take (``None`` or 0: no limit); the deferral itself is given
        :data:`DEFER_MARGIN` more.
    :param timeout_parameter: the task's parameter the timeout message tells the user to raise.
    """
    task.defer(
        trigger=OVHCloudAITrainingJobTrigger(
            job_id=str(task.job_id),
            ovh_conn_id=task.ovh_conn_id,
            region=task.region,
            target_states=task.target_states,
            failure_states=task.failure_states,
            check_interval=check_interval,
            end_time=time.time() + timeout if timeout else None,
            timeout=timeout,
            timeout_parameter=timeout_parameter,
        ),
        method_name="execute_complete",
        timeout=timedelta(seconds=timeout) + DEFER_MARGIN if timeout else None,
    )
