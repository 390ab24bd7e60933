"""A sensor on a job's state, for ``mode='reschedule'`` (no worker slot held between pokes) or deferral."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from apache_airflow_provider_ovhcloud_ai import exceptions as exc
from apache_airflow_provider_ovhcloud_ai import lifecycle
from apache_airflow_provider_ovhcloud_ai.config import default_deferrable
from apache_airflow_provider_ovhcloud_ai.links.ai_training import (
    JOB_LINK_ATTRIBUTE,
    OVHCloudAITrainingJobLink,
    job_link,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook


class OVHCloudAITrainingJobSensor(BaseSensorOperator):
    """
    Succeeds when the job reaches one of ``target_states``; fails at once on a failure state or any final
    state that is not a target, with the job's state, exit code, platform message and last log lines.

    :param job_id: the job's id (templated).
    :param target_states: states that succeed (default ``['DONE']``).
    :param failure_states: states that fail (default ``['FAILED', 'ERROR', 'INTERRUPTED']``).
    :param ovh_conn_id: Airflow connection id.
    :param region: override the connection's region.
    :param deferrable: wait in the triggerer between checks.
    """

    template_fields: Sequence[str] = ("job_id", "target_states", "failure_states", "region")
    operator_extra_links = (OVHCloudAITrainingJobLink(),)

    def __init__(
        self,
        *,
        job_id: str,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        ovh_conn_id: str = "ovh_ai_training_default",
        region: str | None = None,
        deferrable: bool = default_deferrable(),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.target_states = lifecycle.normalize_states(target_states, lifecycle.DEFAULT_TARGET_STATES)
        self.failure_states = lifecycle.normalize_states(failure_states, lifecycle.DEFAULT_FAILURE_STATES)
        self.ovh_conn_id = ovh_conn_id
        self.region = region
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> OVHCloudAITrainingHook:
        """The hook, made when the sensor first pokes."""
        from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

        return OVHCloudAITrainingHook(ovh_conn_id=self.ovh_conn_id, region=self.region)

    def execute(self, context: Context) -> Any:
        """Poke as a sensor does, or hand the whole wait to the trigger when deferrable."""
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        from apache_airflow_provider_ovhcloud_ai.triggers.ai_training import defer_until_job_state

        defer_until_job_state(self, check_interval=self.poke_interval, timeout=self.timeout)
        return None

    def poke(self, context: Context) -> bool:
        """Read the job once: ``True`` on a target state, raise on a failure, else ``False``."""
        targets = lifecycle.normalize_states(self.target_states, lifecycle.DEFAULT_TARGET_STATES)
        failures = lifecycle.normalize_states(self.failure_states, lifecycle.DEFAULT_FAILURE_STATES)
        job = self.hook.get_job(str(self.job_id))
        setattr(self, JOB_LINK_ATTRIBUTE, job_link(job, self.hook.base_url))
        state = lifecycle.job_state(job)
        self.log.info("Job %s is %s", self.job_id, state)
        outcome = lifecycle.evaluate_wait(state, targets, failures)
        if outcome is lifecycle.WaitOutcome.FAILED:
            raise exc.JobFailedError(job, self.hook.log_tail_for_error(str(self.job_id)), targets)
        return outcome is lifecycle.WaitOutcome.REACHED

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        """Resume after the trigger fired: succeed, or raise the same errors a poke would."""
        status = event.get("status")
        job_id = str(event.get("job_id"))
        if status == "success":
            self.log.info("Job %s reached %s", job_id, event.get("state"))
            return
        if status == "failure":
            job = dict(event.get("job") or self.hook.get_job(job_id))
            raise exc.JobFailedError(job, self.hook.log_tail_for_error(job_id), self.target_states)
        if status == "timeout":
            raise exc.JobWaitTimeoutError(
                job_id, str(event.get("state")), float(self.timeout), self.target_states, parameter="timeout"
            )
        raise exc.OVHCloudAITrainingError(f"Waiting for job {job_id} failed: {event.get('message')}")
