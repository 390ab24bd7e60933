"""
When a failed request is tried again, and how an error answer becomes an exception. The same rules as the
TypeScript client's ``retry.ts``, shared by the hook's sync and async paths.

Only requests that are safe to repeat are retried: reads, kill and delete. A submit is repeated only when
the request provably never left this machine (connection refused, unknown host): once it may have reached
the server, a second submit could start a second job.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from apache_airflow_provider_ovhcloud_ai import exceptions as exc

RETRYABLE_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the hook retries one call."""

    #: Retries after the first attempt; 0 turns retrying off.
    max_retries: int = 4
    #: First backoff delay in seconds, doubled at each retry.
    initial_delay: float = 0.2
    #: Longest single delay in seconds (also caps ``Retry-After``).
    max_delay: float = 8.0
    #: Total time budget for the retries of one call, in seconds.
    max_elapsed: float = 30.0


def retry_delay(
    *,
    idempotent: bool,
    retries_done: int,
    elapsed: float,
    policy: RetryPolicy,
    status: int | None = None,
    retry_after: float | None = None,
    not_sent: bool = False,
    rand: float | None = None,
) -> float | None:
    """
    Seconds to wait before the next attempt, or ``None`` to give up.

    ``status`` is set for an error answer; otherwise the failure was a connection error and ``not_sent``
    says whether the request cannot have reached the server.
    """
    if retries_done >= policy.max_retries:
        return None
    if status is not None:
        if not idempotent or status not in RETRYABLE_STATUSES:
            return None
    elif not idempotent and not not_sent:
        return None
    backoff = min(policy.max_delay, policy.initial_delay * 2**retries_done)
    # Jitter in [backoff/2, backoff) spreads clients that failed together and keeps a floor.
    jitter = random.random() if rand is None else rand
    delay: float = backoff / 2 + jitter * backoff / 2
    if status is not None and retry_after is not None:
        # The server said how long to wait: never less; longer than max_delay means give up now.
        if retry_after > policy.max_delay:
            return None
        delay = max(delay, retry_after)
    if elapsed + delay > policy.max_elapsed:
        return None
    return delay


class RequestAttempts:
    """
    The retry decisions of one call, shared by the hook's sync and async request loops.

    Each ``after_*`` method answers the seconds to wait before the next attempt, or raises the error the
    caller should see when no retry is left; the loops keep only the request itself and the sleep.

    :param method: HTTP method of the call.
    :param url: full URL of the call, for the connection error message.
    :param idempotent: whether the call is safe to repeat once it may have reached the server.
    :param policy: how hard to retry.
    :param hint_404: what a 404 answer should tell the user instead of the generic hint.
    """

    def __init__(
        self, method: str, url: str, *, idempotent: bool, policy: RetryPolicy, hint_404: str = ""
    ) -> None:
        self.method = method
        self.url = url
        self.idempotent = idempotent
        self.policy = policy
        self.hint_404 = hint_404
        #: Retries decided so far.
        self.retries = 0
        self._started = time.monotonic()

    def after_transport_error(self, error: httpx.TransportError) -> float:
        """Delay before retrying a request that got no answer; raises ``ApiConnectionError`` to give up."""
        not_sent = is_not_sent(error)
        delay = self._delay(not_sent=not_sent)
        if delay is None:
            raise exc.ApiConnectionError(self.method, self.url, _reason(error), not_sent=not_sent) from None
        return delay

    def after_error_answer(self, response: httpx.Response) -> float:
        """Delay before retrying an error answer (status >= 400); raises its API error to give up."""
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        delay = self._delay(status=response.status_code, retry_after=retry_after)
        if delay is None:
            raise error_for(response, self.hint_404 if response.status_code == 404 else "")
        return delay

    def _delay(
        self, *, status: int | None = None, retry_after: float | None = None, not_sent: bool = False
    ) -> float | None:
        delay = retry_delay(
            idempotent=self.idempotent,
            retries_done=self.retries,
            elapsed=time.monotonic() - self._started,
            policy=self.policy,
            status=status,
            retry_after=retry_after,
            not_sent=not_sent,
        )
        if delay is not None:
            self.retries += 1
        return delay


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (delay-seconds or an HTTP date) in seconds, ``None`` when unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def is_not_sent(error: httpx.TransportError) -> bool:
    """True when the request cannot have reached the server (the connection was never made)."""
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def api_message(response: httpx.Response) -> str:
    """The API's ``message`` from an error body, or a short piece of the raw body."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:300].strip()
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)[:300]


_ERRORS: dict[int, type[exc.OVHCloudAITrainingApiError]] = {
    400: exc.BadRequestError,
    401: exc.AuthenticationError,
    403: exc.PermissionDeniedError,
    404: exc.JobNotFoundError,
    409: exc.ConflictError,
    429: exc.RateLimitError,
}

_HINTS: dict[int, str] = {
    401: "The token was refused: check the password of the Airflow connection (it must be an AI token).",
    403: "The token may only read: use an operator token to submit, stop or delete jobs.",
    404: "No such job: it was never created, or was deleted.",
    429: "The API is rate limiting; retries were exhausted. Poll less often (raise check_interval).",
}


def error_for(response: httpx.Response, hint: str = "") -> exc.OVHCloudAITrainingApiError:
    """The exception for an error answer, chosen by status family."""
    status = response.status_code
    cls = _ERRORS.get(status) or (exc.ServerError if status >= 500 else exc.OVHCloudAITrainingApiError)
    if not hint:
        hint = _HINTS.get(status, "The platform failed; try again later." if status >= 500 else "")
    return cls(status, api_message(response), response.request.method, str(response.request.url), hint)


def _reason(error: httpx.TransportError) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
