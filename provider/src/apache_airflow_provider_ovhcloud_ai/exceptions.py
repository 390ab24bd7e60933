"""
Errors of the provider. Each says what happened, to which job, and what to do next; none ever holds the
token (messages are built from the job, the endpoint and the API's own message, never from headers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

try:
    from airflow.sdk.exceptions import AirflowException
except ImportError:  # Airflow 3.0 kept it in airflow.exceptions only
    from airflow.exceptions import AirflowException  # type: ignore[no-redef,attr-defined]

from apache_airflow_provider_ovhcloud_ai.lifecycle import DEFAULT_TARGET_STATES

VALID_REGIONS: tuple[str, ...] = ("gra", "bhs")


class OVHCloudAITrainingError(AirflowException):
    """Base class of every error this provider raises."""


class OVHCloudAITrainingConfigError(OVHCloudAITrainingError, ValueError):
    """The connection or an argument is wrong; nothing was sent."""


class InvalidRegionError(OVHCloudAITrainingConfigError):
    """The region is not one the platform has."""

    def __init__(self, region: str, conn_id: str) -> None:
        self.region = region
        super().__init__(
            f"Invalid region {region!r} (connection {conn_id!r}): use one of {', '.join(VALID_REGIONS)}. "
            "Set it as the connection's login or pass region=...; to reach another endpoint (an emulator, "
            "a proxy) set the connection's host or its 'endpoint' extra."
        )


class TokenNotFoundError(OVHCloudAITrainingConfigError):
    """The connection carries no token."""

    def __init__(self, conn_id: str) -> None:
        super().__init__(
            f"Token not found: connection {conn_id!r} has no password. Check the connection config and "
            f"set its password to your AI Training token, e.g. `airflow connections add {conn_id} "
            "--conn-type generic --conn-login gra --conn-password <your-ai-token>`."
        )


class JobSpecError(OVHCloudAITrainingConfigError):
    """A job parameter is invalid; the job was not submitted."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"Invalid {field}: {problem}. The job was not submitted.")


class OVHCloudAITrainingApiError(OVHCloudAITrainingError):
    """The API answered an error status."""

    def __init__(self, status: int, api_message: str, method: str, url: str, hint: str = "") -> None:
        self.status = status
        self.api_message = api_message
        self.method = method
        self.url = url
        text = f"{method} {url} answered {status}: {api_message or '(no message)'}"
        super().__init__(f"{text}. {hint}" if hint else text)


class BadRequestError(OVHCloudAITrainingApiError):
    """400: the API refused the request as invalid."""


class AuthenticationError(OVHCloudAITrainingApiError):
    """401: the token is missing, unknown or expired."""


class PermissionDeniedError(OVHCloudAITrainingApiError):
    """403: the token is valid but its role may not do this (a read token cannot submit)."""


class JobNotFoundError(OVHCloudAITrainingApiError):
    """404: no such job (never created, or deleted)."""


class ConflictError(OVHCloudAITrainingApiError):
    """409: the job is not in a state that allows this."""


class RateLimitError(OVHCloudAITrainingApiError):
    """429: too many requests, even after the retries."""


class ServerError(OVHCloudAITrainingApiError):
    """5xx: the platform failed, even after the retries."""


class InvalidFlavorError(BadRequestError):
    """The flavor asked for does not exist; the message lists the valid ones, read from the API."""

    def __init__(self, flavor: str, valid: Sequence[str], method: str, url: str, api_message: str) -> None:
        self.flavor = flavor
        self.valid_flavors = list(valid)
        super().__init__(400, api_message, method, url)
        self.args = (
            f"Invalid flavor {flavor!r}: the job was not submitted. Available flavors (from "
            f"{url.rsplit('/v1/', 1)[0]}/v1/capabilities/flavor): {', '.join(valid) or '(none listed)'}. "
            f"The API said: {api_message}",
        )

    def __str__(self) -> str:
        return str(self.args[0])


class ApiConnectionError(OVHCloudAITrainingError):
    """
    The endpoint could not be reached, even after the retries.

    :param method: HTTP method of the request that failed.
    :param url: its full URL.
    :param reason: what the transport said.
    :param not_sent: True when the request cannot have reached the server (the connection was never made).
    :param outcome: what the failure means for the caller (e.g. whether a job may have been created).
    """

    def __init__(
        self, method: str, url: str, reason: str, *, not_sent: bool = False, outcome: str = ""
    ) -> None:
        self.method = method
        self.url = url
        self.reason = reason
        self.not_sent = not_sent
        self.outcome = outcome
        text = f"Could not reach the AI Training API: {method} {url} failed ({reason})."
        if outcome:
            text += f" {outcome}"
        super().__init__(f"{text} Check the region or the endpoint set in the connection, and the network.")


class JobFailedError(OVHCloudAITrainingError):
    """The job ended in a state that is not a target of the wait."""

    def __init__(
        self, job: dict[str, Any], log_tail: str = "", targets: Sequence[str] = DEFAULT_TARGET_STATES
    ) -> None:
        status = job.get("status") or {}
        info = status.get("info") or {}
        self.job = job
        self.job_id = str(job.get("id", "?"))
        self.state = str(status.get("state", "UNKNOWN"))
        self.exit_code = status.get("exitCode")
        self.platform_message = str(info.get("message") or info.get("code") or "").strip().rstrip(".")
        self.log_tail = log_tail
        name = (job.get("spec") or {}).get("name")
        parts = [
            f"Job failed: job {self.job_id}" + (f" ({name})" if name else ""),
            f" ended in state {self.state}",
            f" with exit code {self.exit_code}" if self.exit_code is not None else "",
            f" (waiting for {', '.join(targets)})",
            f". Platform message: {self.platform_message}" if self.platform_message else "",
            ".",
        ]
        text = "".join(parts)
        if log_tail.strip():
            text += f"\nLast lines of the job's log:\n{log_tail.rstrip()}"
        text += "\nCheck the job logs (OVHCloudAITrainingGetLogsOperator or hook.get_job_logs) to fix it."
        super().__init__(text)


class JobWaitTimeoutError(OVHCloudAITrainingError):
    """The wait gave up before the job reached a target state; the job itself is left as it is."""

    def __init__(
        self,
        job_id: str,
        last_state: str,
        timeout: float,
        targets: Sequence[str],
        parameter: str = "timeout",
    ) -> None:
        self.job_id = job_id
        self.last_state = last_state
        self.timeout = timeout
        super().__init__(
            f"Timeout waiting for job {job_id}: it did not reach {', '.join(targets)} within "
            f"{timeout:g} s (last state {last_state}). The job was not stopped. Increase `{parameter}` "
            "if the job needs longer, or stop it with OVHCloudAITrainingStopJobOperator."
        )


#: Errors after which the same read may well succeed a little later: a long wait rides them out.
TRANSIENT_ERRORS: tuple[type[OVHCloudAITrainingError], ...] = (
    ApiConnectionError,
    ServerError,
    RateLimitError,
)
#: Reads in a row a wait lets fail with a transient error (after the hook's own retries) before giving up.
MAX_CONSECUTIVE_TRANSIENT_ERRORS = 3
