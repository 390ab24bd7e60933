"""
The six operators of the user's document: submit, get, wait for, stop, delete a job, and read its logs.

The hook (and with it httpx) and the trigger are imported when a task runs, not when a DAG file is parsed:
the scheduler and the DAG processor import this module for every DAG that uses it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from apache_airflow_provider_ovhcloud_ai import exceptions as exc
from apache_airflow_provider_ovhcloud_ai import job_spec, lifecycle
from apache_airflow_provider_ovhcloud_ai.config import default_deferrable
from apache_airflow_provider_ovhcloud_ai.links.ai_training import (
    JOB_LINK_ATTRIBUTE,
    OVHCloudAITrainingJobLink,
    job_link,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

DEFAULT_CONN_ID = "ovh_ai_training_default"


class _AITrainingOperator(BaseOperator):
    """What every operator of this provider shares: the connection, the region, the hook."""

    operator_extra_links = (OVHCloudAITrainingJobLink(),)

    def __init__(
        self, *, ovh_conn_id: str = DEFAULT_CONN_ID, region: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.ovh_conn_id = ovh_conn_id
        self.region = region

    @cached_property
    def hook(self) -> OVHCloudAITrainingHook:
        """The hook, made when the task first needs it."""
        from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

        return OVHCloudAITrainingHook(ovh_conn_id=self.ovh_conn_id, region=self.region)

    def _remember_job(self, job: Mapping[str, Any]) -> None:
        setattr(self, JOB_LINK_ATTRIBUTE, job_link(dict(job), self.hook.base_url))

    def _read_job(self, job_id: str) -> dict[str, Any]:
        """The job as the API answers it, its link remembered for the task's extra link."""
        job = self.hook.get_job(job_id)
        self._remember_job(job)
        return job

    def _log_final(self, job: Mapping[str, Any]) -> None:
        """One line on how the wait ended: a target that is not final (``RUNNING``) has no exit code yet."""
        state = lifecycle.job_state(job)
        if not lifecycle.is_final_state(state):
            self.log.info("Job %s reached %s", job.get("id"), state)
            return
        status = job.get("status") or {}
        details = []
        if status.get("exitCode") is not None:
            details.append(f"exit code {status['exitCode']}")
        if status.get("duration") is not None:
            details.append(f"{status['duration']} s running")
        self.log.info(
            "Job %s ended %s%s", job.get("id"), state, f" ({', '.join(details)})" if details else ""
        )

    def _complete_wait(
        self, event: Mapping[str, Any], targets: Sequence[str], timeout_parameter: str
    ) -> dict[str, Any]:
        """Turn the trigger's event into the job, or into the same errors a blocking wait raises."""
        job_id = str(event.get("job_id"))
        status = event.get("status")
        if status in ("success", "failure"):
            job: dict[str, Any] = dict(event.get("job") or self.hook.get_job(job_id))
            self._remember_job(job)
            if status == "failure":
                raise exc.JobFailedError(job, self.hook.log_tail_for_error(job_id), targets)
            self._log_final(job)
            # Deferred mode streams no log while waiting; the tail is read once, here, at the end.
            tail = self.hook.log_tail_for_error(job_id)
            if tail.strip():
                self.log.info("Last lines of the log of job %s:\n%s", job_id, tail.rstrip())
            return job
        if status == "timeout":
            raise exc.JobWaitTimeoutError(
                job_id,
                str(event.get("state")),
                float(event.get("timeout") or 0),
                list(event.get("target_states") or targets),
                parameter=str(event.get("timeout_parameter") or timeout_parameter),
            )
        raise exc.OVHCloudAITrainingError(
            f"Waiting for job {job_id} failed: {event.get('message', 'unknown error')}"
        )


class _JobOperator(_AITrainingOperator):
    """An operator on one existing job, named by its (templated) id."""

    template_fields: Sequence[str] = ("job_id", "region")

    def __init__(self, *, job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id


class _Progress:
    """Logs each state change once and streams the job's new log lines into the task log while waiting."""

    def __init__(self, operator: _AITrainingOperator, job_id: str, stream_logs: bool) -> None:
        self.operator = operator
        self.job_id = job_id
        self.stream_logs = stream_logs
        self.lines_seen = 0
        self.started = time.monotonic()

    def __call__(self, job: dict[str, Any], changed: bool) -> None:
        if changed:
            self.operator.log.info(
                "Job %s is %s (after %.0f s)", self.job_id, lifecycle.job_state(job), self.elapsed
            )
        if self.stream_logs:
            self.read_new_lines()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def read_new_lines(self) -> None:
        try:
            text = self.operator.hook.get_job_logs(self.job_id, since=self.lines_seen)
        except exc.OVHCloudAITrainingError as error:
            self.operator.log.warning("Could not read the log of job %s: %s", self.job_id, error)
            self.stream_logs = False
            return
        lines = text.splitlines()
        for line in lines:
            self.operator.log.info("[job %s] %s", self.job_id, line)
        self.lines_seen += len(lines)


class OVHCloudAITrainingSubmitJobOperator(_AITrainingOperator):
    """
    Submit an AI Training job, optionally wait for it, and return the job (``["id"]`` is its id).

    The job is labelled with the DAG, task and run it belongs to. When a task is retried, it reattaches to
    the job its earlier try submitted (still running, or done) instead of paying for a second one.

    :param image: Docker image to use.
    :param name: job name.
    :param command: command to execute.
    :param env_vars: environment variables (a dict, or the list ``build_env_vars`` makes).
    :param flavor: instance flavor, e.g. ``ai1-1-gpu``.
    :param gpu: number of GPUs.
    :param gpu_model: GPU model (``V100S``, ``A100``...).
    :param cpu: number of CPUs.
    :param volumes: volume configurations (``OVHCloudAITrainingHook.build_volume``).
    :param labels: job labels.
    :param ssh_public_keys: SSH keys for remote access.
    :param default_http_port: HTTP port to expose.
    :param job_timeout: job timeout in seconds (the platform stops the job after it).
    :param unsecure_http: allow unsecure HTTP.
    :param wait_for_completion: wait for the job to complete.
    :param check_interval: seconds between status checks.
    :param wait_timeout: max wait time in seconds.
    :param ovh_conn_id: connection id.
    :param region: override the connection's region.
    :param deferrable: wait in the triggerer instead of holding a worker slot (with ``wait_for_completion``).
    :param target_states: states the wait accepts (default ``['DONE']``).
    :param failure_states: states the wait fails on (any final non-target state fails too).
    :param stream_logs: while waiting (not deferred), copy the job's new log lines into the task log.
    :param reattach_on_retry: on a retry, reuse the job the earlier try submitted when it did not fail.
    """

    template_fields: Sequence[str] = (
        "image",
        "name",
        "command",
        "env_vars",
        "flavor",
        "gpu_model",
        "volumes",
        "labels",
        "ssh_public_keys",
        "region",
    )
    ui_color = "#b3d4fc"

    def __init__(
        self,
        *,
        image: str,
        name: str | None = None,
        command: list[str] | None = None,
        env_vars: dict[str, str] | list[dict[str, str]] | None = None,
        flavor: str | None = None,
        gpu: int = 0,
        gpu_model: str | None = None,
        cpu: int | None = None,
        volumes: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        ssh_public_keys: list[str] | None = None,
        default_http_port: int | None = None,
        job_timeout: int | None = None,
        unsecure_http: bool = False,
        wait_for_completion: bool = False,
        check_interval: int = 30,
        wait_timeout: int = 3600,
        ovh_conn_id: str = DEFAULT_CONN_ID,
        region: str | None = None,
        deferrable: bool = default_deferrable(),
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        stream_logs: bool = True,
        reattach_on_retry: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, region=region, **kwargs)
        self.image = image
        self.name = name
        self.command = command
        self.env_vars = env_vars
        self.flavor = flavor
        self.gpu = gpu
        self.gpu_model = gpu_model
        self.cpu = cpu
        self.volumes = volumes
        self.labels = labels
        self.ssh_public_keys = ssh_public_keys
        self.default_http_port = default_http_port
        self.job_timeout = job_timeout
        self.unsecure_http = unsecure_http
        self.wait_for_completion = wait_for_completion
        self.check_interval = check_interval
        self.wait_timeout = wait_timeout
        self.deferrable = deferrable
        self.target_states = lifecycle.normalize_states(target_states, lifecycle.DEFAULT_TARGET_STATES)
        self.failure_states = lifecycle.normalize_states(failure_states, lifecycle.DEFAULT_FAILURE_STATES)
        self.stream_logs = stream_logs
        self.reattach_on_retry = reattach_on_retry
        self.job_id: str | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        """Submit (or reattach to) the job; wait for it when asked; return the job."""
        identity = _identity(context)
        job = self._earlier_job(identity) if self.reattach_on_retry and _try_number(context) > 1 else None
        if job is not None:
            self.log.info(
                "Reattached to job %s (%s), submitted by an earlier try of this task; it is %s",
                job["id"],
                (job.get("spec") or {}).get("name"),
                lifecycle.job_state(job),
            )
        else:
            job = self._submit(identity)
        self.job_id = str(job["id"])
        self._remember_job(job)
        # Pushed now so a cleanup task finds the job even when the wait below fails.
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key="return_value", value=job)
        if not self.wait_for_completion:
            return job
        if self.deferrable:
            self._defer_wait()
        progress = _Progress(self, self.job_id, self.stream_logs)
        final = self.hook.wait_for_job(
            self.job_id,
            self.target_states,
            self.failure_states,
            check_interval=self.check_interval,
            timeout=self.wait_timeout,
            on_poll=progress,
            timeout_parameter="wait_timeout",
        )
        if self.stream_logs:
            progress.read_new_lines()
        self._log_final(final)
        return final

    def _submit(self, identity: dict[str, str]) -> dict[str, Any]:
        labels = {**(self.labels or {}), **identity}
        try:
            job = self.hook.submit_job(
                image=self.image,
                name=self.name,
                command=self.command,
                env_vars=self.env_vars,
                flavor=self.flavor,
                gpu=self.gpu,
                gpu_model=self.gpu_model,
                cpu=self.cpu,
                volumes=self.volumes,
                labels=labels,
                ssh_public_keys=self.ssh_public_keys,
                default_http_port=self.default_http_port,
                job_timeout=self.job_timeout,
                unsecure_http=self.unsecure_http,
            )
        except (exc.ApiConnectionError, exc.ServerError) as error:
            job = self._job_after_failed_submit(error, identity)
        self.log.info(
            "Submitted job %s (%s) in region %s, endpoint %s",
            job.get("id"),
            (job.get("spec") or {}).get("name"),
            self.hook.settings.region or "(none)",
            self.hook.base_url,
        )
        return job

    def _job_after_failed_submit(
        self, error: exc.ApiConnectionError | exc.ServerError, identity: dict[str, str]
    ) -> dict[str, Any]:
        """
        The job a failed ``POST /v1/job`` created after all, found by this task's labels; otherwise raise
        the POST's own error, saying whether a job may have been created.
        """
        selector = job_spec.label_selector(identity)
        if isinstance(error, exc.ApiConnectionError) and error.not_sent:
            # The connection was never made: no job exists, and looking for one would only fail the same way.
            raise _with_outcome(error, "No job was created: the request never reached the server.") from None
        # The submit may have reached the server before failing: look for the job by its labels rather than
        # submit blindly again.
        try:
            found = self._newest_unfailed_job(identity)
        except exc.OVHCloudAITrainingError as lookup_error:
            raise _with_outcome(
                error,
                "A job may have been created: the request may have reached the server, and looking for it "
                f"by this task's labels ({selector}) failed too ({lookup_error}). List the jobs with those "
                "labels before submitting again; a retry of this task reattaches to such a job.",
            ) from None
        if found is None:
            raise _with_outcome(
                error,
                f"No job with this task's labels ({selector}) was found, so most likely none was created; "
                "a retry of this task reattaches to one if it shows up.",
            ) from None
        self.log.warning(
            "POST /v1/job failed (%s), but job %s with this task's labels exists: using it",
            error,
            found["id"],
        )
        return found

    def _newest_unfailed_job(self, identity: dict[str, str]) -> dict[str, Any] | None:
        """The newest job of this task instance that did not fail, or ``None``; raises when it cannot look."""
        jobs = self.hook.list_jobs(label_selector=identity, sort="createdAt", order="desc", size=20, page=1)
        for job in jobs:
            if not lifecycle.is_failure_final_state(lifecycle.job_state(job)):
                return job
        return None

    def _earlier_job(self, identity: dict[str, str]) -> dict[str, Any] | None:
        """The newest job of this task instance that did not fail, or ``None`` (also when the API refuses)."""
        try:
            return self._newest_unfailed_job(identity)
        except exc.OVHCloudAITrainingApiError as error:
            self.log.warning("Could not look for a job of an earlier try: %s", error)
            return None

    def _defer_wait(self) -> None:
        from apache_airflow_provider_ovhcloud_ai.triggers.ai_training import defer_until_job_state

        defer_until_job_state(
            self,
            check_interval=self.check_interval,
            timeout=self.wait_timeout,
            timeout_parameter="wait_timeout",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger fired: return the job, or raise the wait's error."""
        self.job_id = str(event.get("job_id"))
        return self._complete_wait(event, self.target_states, "wait_timeout")

    def on_kill(self) -> None:
        """Stop the job when the task is killed, so it does not keep running (and billing) unattended."""
        if not self.job_id:
            return
        try:
            state = self.hook.get_job_status(self.job_id)
            if lifecycle.is_final_state(state):
                return
            self.hook.stop_job(self.job_id)
            self.log.info("Task killed: asked job %s (%s) to stop", self.job_id, state)
        except exc.OVHCloudAITrainingError as error:
            self.log.warning("Task killed, but job %s could not be stopped: %s", self.job_id, error)


class OVHCloudAITrainingGetJobOperator(_JobOperator):
    """
    Get a job's details and status; returns the job.

    :param job_id: the job's id (templated, e.g. from the submit task's XCom).
    """

    def execute(self, context: Context) -> dict[str, Any]:
        """Read the job and return it."""
        job = self._read_job(self.job_id)
        status = job.get("status") or {}
        self.log.info(
            "Job %s (%s) is %s (exit code %s)",
            job.get("id"),
            (job.get("spec") or {}).get("name"),
            lifecycle.job_state(job),
            status.get("exitCode", "none"),
        )
        return job


class OVHCloudAITrainingWaitForJobOperator(_AITrainingOperator):
    """
    Wait until a job reaches one of ``target_states``; returns the job.

    Fails at once when the job reaches a failure state, or any final state that is not a target, with
    its state, exit code, platform message and the last lines of its log.

    :param job_id: the job's id (templated).
    :param target_states: states that end the wait well (default ``['DONE']``).
    :param failure_states: states that fail it (default ``['FAILED', 'ERROR', 'INTERRUPTED']``).
    :param check_interval: seconds between status checks (default 30).
    :param timeout: max wait time in seconds (default 3600).
    :param poke_interval: same as ``check_interval``, for sensor-style DAGs.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param stream_logs: while waiting (not deferred), copy the job's new log lines into the task log.
    """

    template_fields: Sequence[str] = ("job_id", "target_states", "failure_states", "region")

    def __init__(
        self,
        *,
        job_id: str,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        check_interval: int | None = None,
        timeout: int = 3600,
        poke_interval: int | None = None,
        deferrable: bool = default_deferrable(),
        stream_logs: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if check_interval is not None and poke_interval is not None and check_interval != poke_interval:
            raise exc.OVHCloudAITrainingConfigError(
                f"Task {kwargs.get('task_id')!r}: check_interval={check_interval} and "
                f"poke_interval={poke_interval} disagree; give only one of them."
            )
        self.job_id = job_id
        self.target_states = lifecycle.normalize_states(target_states, lifecycle.DEFAULT_TARGET_STATES)
        self.failure_states = lifecycle.normalize_states(failure_states, lifecycle.DEFAULT_FAILURE_STATES)
        self.check_interval = check_interval if check_interval is not None else (poke_interval or 30)
        self.poke_interval = self.check_interval
        self.timeout = timeout
        self.deferrable = deferrable
        self.stream_logs = stream_logs

    def execute(self, context: Context) -> dict[str, Any]:
        """Wait for the job; return it once it reached a target state."""
        targets = lifecycle.normalize_states(self.target_states, lifecycle.DEFAULT_TARGET_STATES)
        failures = lifecycle.normalize_states(self.failure_states, lifecycle.DEFAULT_FAILURE_STATES)
        self.log.info("Waiting for job %s to reach %s", self.job_id, ", ".join(targets))
        if self.deferrable:
            from apache_airflow_provider_ovhcloud_ai.triggers.ai_training import defer_until_job_state

            defer_until_job_state(self, check_interval=self.check_interval, timeout=self.timeout)
        progress = _Progress(self, str(self.job_id), self.stream_logs)
        job = self.hook.wait_for_job(
            str(self.job_id),
            targets,
            failures,
            check_interval=self.check_interval,
            timeout=self.timeout,
            on_poll=progress,
        )
        if self.stream_logs and lifecycle.is_final_state(lifecycle.job_state(job)):
            progress.read_new_lines()
        self._remember_job(job)
        self._log_final(job)
        return job

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger fired: return the job, or raise the wait's error."""
        return self._complete_wait(event, self.target_states, "timeout")


class OVHCloudAITrainingStopJobOperator(_JobOperator):
    """
    Stop a running job; returns the job as it is after the stop order. A job that already ended is left
    as it is.

    :param job_id: the job's id (templated).
    """

    def execute(self, context: Context) -> dict[str, Any]:
        """Ask the job to stop unless it already ended."""
        job = self._read_job(self.job_id)
        state = lifecycle.job_state(job)
        if lifecycle.is_final_state(state):
            self.log.info("Job %s already ended (%s): nothing to stop", self.job_id, state)
            return job
        self.hook.stop_job(self.job_id)
        self.log.info("Asked job %s to stop (it was %s)", self.job_id, state)
        return self.hook.get_job(self.job_id)


class OVHCloudAITrainingDeleteJobOperator(_AITrainingOperator):
    """
    Delete a job. Made for cleanup with ``trigger_rule='all_done'``: when the upstream task never created
    the job (its XCom is empty) or the job is already gone, it logs so and succeeds; a job still running is
    stopped and deleted (``force``).

    :param job_id: the job's id (templated).
    :param force: also delete a job that has not ended, stopping it first (default ``True``).
    """

    template_fields: Sequence[str] = ("job_id", "region")

    def __init__(self, *, job_id: str | None, force: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.force = force

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """
        Render as usual, except that a ``job_id`` template reading an XCom the upstream never pushed
        (``ti.xcom_pull(...)["id"]`` on nothing) means "no job to delete" instead of a failed cleanup.
        """
        import jinja2

        try:
            super().render_template_fields(context, jinja_env)
        except jinja2.UndefinedError as error:
            self.log.info("job_id could not be rendered (%s): the upstream task recorded no job", error)
            self.job_id = None

    def execute(self, context: Context) -> None:
        """Delete the job, or explain why there is nothing to delete."""
        from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import _id

        if not self.job_id or str(self.job_id).strip() in ("None", ""):
            self.log.info("No job to delete: the upstream task did not record a job id")
            return
        job_id = _id(str(self.job_id))
        try:
            state = self.hook.get_job_status(job_id)
        except exc.JobNotFoundError:
            self.log.info("Job %s does not exist (already deleted?): nothing to delete", job_id)
            return
        if not lifecycle.is_final_state(state):
            if not self.force:
                raise exc.OVHCloudAITrainingConfigError(
                    f"Job {job_id} is {state}, not ended: stop it first, or pass force=True to stop and "
                    "delete it."
                )
            self.log.info("Job %s is still %s: stopping and deleting it", job_id, state)
        try:
            self.hook.delete_job(job_id, force=self.force and not lifecycle.is_final_state(state))
        except exc.JobNotFoundError:
            self.log.info("Job %s was deleted meanwhile: nothing to delete", job_id)
            return
        self.log.info("Deleted job %s (it was %s)", job_id, state)


#: What the logs operator returns (into XCom, the metadata database) and copies into the task log at most.
DEFAULT_MAX_LOG_LINES = 10_000
DEFAULT_MAX_LOG_BYTES = 1024 * 1024


class OVHCloudAITrainingGetLogsOperator(_AITrainingOperator):
    """
    Retrieve a job's logs: they are written into the task log and returned as text.

    The returned text lands in XCom, in Airflow's metadata database, so it is capped: at most the last
    ``max_lines`` lines (default 10,000) and the last ``max_bytes`` bytes (default 1 MiB). When the log is
    longer, one task log line says so; the whole log is ``OVHCloudAITrainingHook().get_job_logs(job_id)``
    or ``ai-training job logs JOB_ID``.

    :param job_id: the job's id (templated).
    :param tail: only the last ``tail`` lines (default: all, within the caps).
    :param max_lines: most lines returned and logged; ``None`` for no line cap.
    :param max_bytes: most bytes (UTF-8) returned and logged; ``None`` for no size cap.
    """

    template_fields: Sequence[str] = ("job_id", "region")

    def __init__(
        self,
        *,
        job_id: str,
        tail: int | None = None,
        max_lines: int | None = DEFAULT_MAX_LOG_LINES,
        max_bytes: int | None = DEFAULT_MAX_LOG_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name, value in (("max_lines", max_lines), ("max_bytes", max_bytes)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise exc.OVHCloudAITrainingConfigError(
                    f"Task {kwargs.get('task_id')!r}: {name}={value!r} is not a positive integer; give one, "
                    "or None for no cap."
                )
        self.job_id = job_id
        self.tail = tail
        self.max_lines = max_lines
        self.max_bytes = max_bytes

    def execute(self, context: Context) -> str:
        """Read the logs (within the caps), copy them into the task log, return them."""
        asked = self.tail
        if self.max_lines is not None and (asked is None or asked > self.max_lines):
            # One line more than the cap tells whether the log is longer, without reading all of it.
            asked = self.max_lines + 1
        text = self.hook.get_job_logs(self.job_id, tail=asked)
        kept, cut = _cap_log(text, self.max_lines, self.max_bytes)
        lines = kept.splitlines()
        self.log.info("Log of job %s (%d lines%s):", self.job_id, len(lines), _tail_note(self.tail))
        if cut:
            self.log.warning(
                "The log of job %s is longer than max_lines=%s / max_bytes=%s: only its last %d lines "
                "(%d bytes) are logged and returned, to keep XCom small. The whole log: "
                "OVHCloudAITrainingHook().get_job_logs(%r), or `ai-training job logs %s`.",
                self.job_id,
                self.max_lines,
                self.max_bytes,
                len(lines),
                len(kept.encode()),
                self.job_id,
                self.job_id,
            )
        for line in lines:
            self.log.info("[job %s] %s", self.job_id, line)
        return kept


def _cap_log(text: str, max_lines: int | None, max_bytes: int | None) -> tuple[str, bool]:
    """The end of ``text`` within ``max_lines`` lines and ``max_bytes`` bytes, and whether it was cut."""
    lines = text.splitlines(keepends=True)
    cut = False
    if max_lines is not None and len(lines) > max_lines:
        lines, cut = lines[-max_lines:], True
    if max_bytes is not None:
        size = 0
        first = len(lines)
        # Whole lines from the end while they fit; a single last line longer than the cap is cut inside.
        while first > 0 and size + len(lines[first - 1].encode()) <= max_bytes:
            first -= 1
            size += len(lines[first].encode())
        if first > 0:
            cut = True
            if first == len(lines):
                return lines[-1].encode()[-max_bytes:].decode(errors="ignore"), True
            lines = lines[first:]
    return "".join(lines), cut


def _with_outcome(
    error: exc.ApiConnectionError | exc.ServerError, outcome: str
) -> exc.ApiConnectionError | exc.ServerError:
    """The same error of the failed submit, its message completed with what it means for the job."""
    if isinstance(error, exc.ApiConnectionError):
        return exc.ApiConnectionError(
            error.method, error.url, error.reason, not_sent=error.not_sent, outcome=outcome
        )
    return type(error)(error.status, error.api_message, error.method, error.url, outcome)


def _tail_note(tail: int | None) -> str:
    return f", last {tail} asked" if tail is not None else ""


def _try_number(context: Context) -> int:
    ti = context.get("ti")
    return int(getattr(ti, "try_number", 1) or 1)


def _identity(context: Context) -> dict[str, str]:
    ti = context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or "unknown-dag"
    task_id = getattr(ti, "task_id", None) or "unknown-task"
    run_id = getattr(ti, "run_id", None) or context.get("run_id") or "unknown-run"
    map_index = getattr(ti, "map_index", -1)
    return job_spec.identity_labels(str(dag_id), str(task_id), str(run_id), map_index)
