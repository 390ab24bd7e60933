"""The hook: the one place that reads the Airflow connection and speaks the jobs API, sync and async."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from airflow.sdk import BaseHook

from apache_airflow_provider_ovhcloud_ai import __version__, job_spec, lifecycle
from apache_airflow_provider_ovhcloud_ai import exceptions as exc
from apache_airflow_provider_ovhcloud_ai._http import RequestAttempts, RetryPolicy
from apache_airflow_provider_ovhcloud_ai.config import effective_check_interval

REGION_ENDPOINTS: dict[str, str] = {
    "gra": "https://gra.ai.cloud.ovh.net",
    "bhs": "https://bhs.ai.cloud.ovh.net",
}
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
#: Lines of the job's log a failure message carries.
FAILURE_LOG_LINES = 20
_LOG_PAGE_SIZE = 1000
DEFAULT_REQUEST_TIMEOUT = 30.0

# httpx logs every request at INFO; in a task log that is one line per poll and drowns the state changes
# the user wants to see. Quieted only when nobody configured that logger.
if logging.getLogger("httpx").level == logging.NOTSET:
    logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(frozen=True)
class ApiSettings:
    """Where and as whom the hook talks, resolved from the connection and the arguments."""

    conn_id: str
    region: str | None
    base_url: str
    token: str = field(repr=False)
    request_timeout: float = 30.0


#: A function told of every poll of a blocking wait: ``(job, state_changed)``.
PollCallback = Callable[[dict[str, Any], bool], None]


class OVHCloudAITrainingHook(BaseHook):
    """
    Talks to the OVHcloud AI Training jobs API for Airflow.

    The connection's login is the region (``gra`` or ``bhs``) and its password the AI token; a plain
    ``--conn-type generic`` connection works. Its host (or an ``endpoint`` extra) replaces the region's
    base URL, to reach an emulator or a proxy.

    :param ovh_conn_id: Airflow connection id.
    :param region: region that overrides the connection's login.
    :param request_timeout: seconds one HTTP request may take (default: the connection's
        ``request_timeout`` extra, else 30).
    :param retry: how reads, kill and delete are retried (see :class:`RetryPolicy`).
    """

    conn_name_attr = "ovh_conn_id"
    default_conn_name = "ovh_ai_training_default"
    conn_type = "ovhcloud_ai_training"
    hook_name = "OVHcloud AI Training"

    def __init__(
        self,
        ovh_conn_id: str = default_conn_name,
        region: str | None = None,
        *,
        request_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ovh_conn_id = ovh_conn_id
        self.region = region
        self._request_timeout = request_timeout
        self.retry = retry or RetryPolicy()
        self._settings: ApiSettings | None = None
        self._client: httpx.Client | None = None

    # ------------------------------------------------------------------ connection

    def settings_from_connection(self, conn: Any) -> ApiSettings:
        """Region, base URL and token from an Airflow connection and this hook's arguments."""
        extra = _connection_extra(conn)
        region_text = self.region or conn.login or extra.get("region") or ""
        region = str(region_text).strip().lower() or None
        endpoint = extra.get("endpoint") or extra.get(f"extra__{self.conn_type}__endpoint")
        base_url = (
            str(endpoint).rstrip("/") if endpoint else _url_from_host(conn.host, conn.port, conn.schema)
        )
        if region is not None and region not in exc.VALID_REGIONS:
            raise exc.InvalidRegionError(str(region_text), self.ovh_conn_id)
        if base_url is not None and base_url.endswith("/v1"):
            # Every path already starts with /v1, so such an endpoint would answer 404 to every request.
            raise exc.OVHCloudAITrainingConfigError(
                f"The endpoint of connection '{self.ovh_conn_id}' ends in /v1 ({base_url}): set it to the "
                f"base URL without /v1, e.g. {base_url[: -len('/v1')]}"
            )
        if base_url is None:
            if region is None:
                raise exc.InvalidRegionError("", self.ovh_conn_id)
            base_url = REGION_ENDPOINTS[region]
        token = conn.password or extra.get("token") or ""
        if not str(token).strip():
            raise exc.TokenNotFoundError(self.ovh_conn_id)
        _mask(str(token))
        timeout = _positive_float(extra.get("request_timeout"), DEFAULT_REQUEST_TIMEOUT)
        return ApiSettings(self.ovh_conn_id, region, base_url, str(token).strip(), timeout)

    @property
    def settings(self) -> ApiSettings:
        """The resolved settings, read from the connection once."""
        if self._settings is None:
            self._settings = self.settings_from_connection(self.get_connection(self.ovh_conn_id))
        return self._settings

    async def asettings(self) -> ApiSettings:
        """The resolved settings, read from the connection once without blocking the event loop."""
        if self._settings is None:
            if hasattr(self, "aget_connection"):
                conn = await self.aget_connection(self.ovh_conn_id)
            else:  # pragma: no cover - Airflow releases before the async connection API
                from asgiref.sync import sync_to_async

                conn = await sync_to_async(self.get_connection)(self.ovh_conn_id)
            self._settings = self.settings_from_connection(conn)
        return self._settings

    @property
    def request_timeout(self) -> float:
        """Seconds one HTTP request may take."""
        return self._request_timeout or self.settings.request_timeout

    @property
    def base_url(self) -> str:
        """Base URL of the API this hook talks to."""
        return self.settings.base_url

    def get_conn(self) -> httpx.Client:
        """The HTTP client, made once per hook."""
        if self._client is None:
            settings = self.settings
            self._client = httpx.Client(
                base_url=settings.base_url, headers=_headers(settings), timeout=self.request_timeout
            )
        return self._client

    def close(self) -> None:
        """Close the HTTP client (the hook makes a new one if used again)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # ------------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        hint_404: str = "",
    ) -> httpx.Response:
        client = self.get_conn()
        attempts = RequestAttempts(
            method, f"{self.base_url}{path}", idempotent=idempotent, policy=self.retry, hint_404=hint_404
        )
        while True:
            try:
                response = client.request(method, path, params=_clean(params), json=json)
            except httpx.TransportError as error:
                delay = attempts.after_transport_error(error)
            else:
                if response.status_code < 400:
                    return response
                delay = attempts.after_error_answer(response)
            self.log.debug("Retrying %s %s in %.2f s (retry %d)", method, path, delay, attempts.retries)
            time.sleep(delay)

    async def _arequest(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        hint_404: str = "",
    ) -> httpx.Response:
        settings = await self.asettings()
        client = _shared_async_client(settings, self._request_timeout or settings.request_timeout)
        attempts = RequestAttempts(
            method, f"{settings.base_url}{path}", idempotent=idempotent, policy=self.retry, hint_404=hint_404
        )
        while True:
            try:
                response = await client.request(method, path, params=_clean(params), json=json)
            except httpx.TransportError as error:
                delay = attempts.after_transport_error(error)
            else:
                if response.status_code < 400:
                    return response
                delay = attempts.after_error_answer(response)
            self.log.debug("Retrying %s %s in %.2f s (retry %d)", method, path, delay, attempts.retries)
            await asyncio.sleep(delay)

    # ------------------------------------------------------------------ jobs

    def submit_job(
        self,
        image: str,
        name: str | None = None,
        command: Sequence[str] | None = None,
        env_vars: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        flavor: str | None = None,
        gpu: int | None = 0,
        gpu_model: str | None = None,
        cpu: int | None = None,
        volumes: Sequence[Mapping[str, Any]] | None = None,
        labels: Mapping[str, Any] | None = None,
        ssh_public_keys: Sequence[str] | None = None,
        default_http_port: int | None = None,
        job_timeout: int | None = None,
        unsecure_http: bool = False,
        timeout: int | None = None,
    ) -> dict[str, Any]:
        """
        Submit a job and answer it as the API created it (``job["id"]`` is its id).

        Every field is checked before sending. The request is never repeated once it may have reached the
        server, so one call starts at most one job.

        :param image: Docker image.
        :param name: job name (the platform makes one when absent).
        :param command: command to run, as a list of strings.
        :param env_vars: environment variables, a dict or the list :meth:`build_env_vars` makes.
        :param flavor: instance flavor, e.g. ``ai1-1-gpu``.
        :param gpu: number of GPUs (0: not asked, the platform gives one unit of the flavor).
        :param gpu_model: GPU model the job needs, e.g. ``V100S``.
        :param cpu: number of CPUs.
        :param volumes: volumes, e.g. from :meth:`build_volume`.
        :param labels: job labels (keys may not start with ``ovh/``).
        :param ssh_public_keys: SSH public keys for access while RUNNING.
        :param default_http_port: port served at the job's URL.
        :param job_timeout: seconds the job may run before the platform stops it.
        :param unsecure_http: make the job's URL reachable without a token.
        :param timeout: same as ``job_timeout``.
        """
        spec = job_spec.build_job_spec(
            image=image,
            name=name,
            command=command,
            env_vars=env_vars,
            flavor=flavor,
            gpu=gpu,
            gpu_model=gpu_model,
            cpu=cpu,
            volumes=volumes,
            labels=labels,
            ssh_public_keys=ssh_public_keys,
            default_http_port=default_http_port,
            timeout=job_timeout if job_timeout is not None else timeout,
            unsecure_http=unsecure_http,
        )
        try:
            response = self._request("POST", "/v1/job", idempotent=False, json=spec)
        except exc.BadRequestError as error:
            if flavor:
                self._raise_if_unknown_flavor(str(flavor), error)
            raise
        job: dict[str, Any] = response.json()
        return job

    def _raise_if_unknown_flavor(self, flavor: str, error: exc.BadRequestError) -> None:
        try:
            valid = [str(f.get("id")) for f in self.list_flavors()]
        except exc.OVHCloudAITrainingError:
            return
        if flavor not in valid:
            raise exc.InvalidFlavorError(flavor, valid, error.method, error.url, error.api_message) from None

    def get_job(self, job_id: str) -> dict[str, Any]:
        """The job as the API answers it."""
        job: dict[str, Any] = self._request("GET", f"/v1/job/{_id(job_id)}", idempotent=True).json()
        return job

    def get_job_status(self, job_id: str) -> str:
        """The job's state (``RUNNING``, ``DONE``...), verbatim, unknown ones included."""
        return lifecycle.job_state(self.get_job(job_id))

    def list_jobs(
        self,
        status_state: str | Sequence[str] | None = None,
        label_selector: str | Mapping[str, str] | None = None,
        user_name: str | None = None,
        updated_after: str | None = None,
        updated_before: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        page: int | None = None,
        size: int | None = None,
    ) -> list[dict[str, Any]]:
        """
        Jobs matching the API's filters, as a list.

        Without ``page`` every page is read; with it, only that one. Both answer shapes of the API (an
        object with ``items`` or a bare array) are accepted.

        :param status_state: one state or several.
        :param label_selector: ``"k=v,k2=v2"`` or a dict; all must match.
        """
        if isinstance(label_selector, Mapping):
            label_selector = job_spec.label_selector(label_selector)
        states = [status_state] if isinstance(status_state, str) else list(status_state or [])
        params: dict[str, Any] = {
            "statusState": states or None,
            "labelSelector": label_selector,
            "userName": user_name,
            "updatedAfter": updated_after,
            "updatedBefore": updated_before,
            "sort": sort,
            "order": order,
            "size": size,
        }
        jobs: list[dict[str, Any]] = []
        current = page or 1
        while True:
            body = self._request("GET", "/v1/job", idempotent=True, params={**params, "page": current}).json()
            items, more = _page_items(body, current, size)
            jobs.extend(items)
            if page is not None or not more:
                return jobs
            current += 1

    def stop_job(self, job_id: str) -> None:
        """Ask the job to stop (it goes INTERRUPTING, then INTERRUPTED)."""
        self._request("PUT", f"/v1/job/{_id(job_id)}/kill", idempotent=True)

    def delete_job(self, job_id: str, force: bool = False) -> None:
        """Delete the job; ``force`` also stops it first when it has not ended."""
        params = {"force": "true"} if force else None
        self._request("DELETE", f"/v1/job/{_id(job_id)}", idempotent=True, params=params)

    def get_job_logs(self, job_id: str, tail: int | None = None, since: int | None = None) -> str:
        """
        The job's output (stdout and stderr in order) as plain text.

        :param tail: only the last ``tail`` lines.
        :param since: skip the first ``since`` lines (the ones already read), to follow a log by polling.
        """
        path = f"/v1/job/{_id(job_id)}/log"
        if not since:
            params = {"tail": int(tail)} if tail is not None else None
            return self._request("GET", path, idempotent=True, params=params).text
        lines = self._log_lines_after(path, int(since))
        if tail is not None:
            lines = lines[-int(tail) :] if int(tail) > 0 else []
        return "".join(f"{line}\n" for line in lines)

    def _log_lines_after(self, path: str, since: int) -> list[str]:
        # Pages of fixed size let a follower read only what is new, instead of the whole log each poll.
        page = since // _LOG_PAGE_SIZE + 1
        skip = since % _LOG_PAGE_SIZE
        lines: list[str] = []
        while True:
            params = {"page": page, "size": _LOG_PAGE_SIZE}
            chunk = self._request("GET", path, idempotent=True, params=params).text.splitlines()
            if len(chunk) > _LOG_PAGE_SIZE:
                # The server ignored paging and sent the whole log.
                return chunk[since:]
            lines.extend(chunk[skip:])
            if len(chunk) < _LOG_PAGE_SIZE:
                return lines
            page, skip = page + 1, 0

    def list_flavors(self) -> list[dict[str, Any]]:
        """The flavors a job may ask for."""
        flavors: list[dict[str, Any]] = self._request(
            "GET", "/v1/capabilities/flavor", idempotent=True
        ).json()
        return flavors

    def me(self) -> dict[str, Any]:
        """Who the token belongs to (``name``, ``tenant``, ``role``)."""
        me: dict[str, Any] = self._request("GET", "/v1/me", idempotent=True).json()
        return me

    def wait_for_job(
        self,
        job_id: str,
        target_states: Sequence[str] | None = None,
        failure_states: Sequence[str] | None = None,
        check_interval: float = 30,
        timeout: float | None = 3600,
        *,
        on_poll: PollCallback | None = None,
        timeout_parameter: str = "timeout",
    ) -> dict[str, Any]:
        """
        Poll the job until it reaches a target state, and answer it.

        Fails at once with :class:`JobFailedError` (state, exit code, platform message, last log lines)
        when the job reaches a failure state, or any final state that is not a target. Raises
        :class:`JobWaitTimeoutError` after ``timeout`` seconds (``None``: no limit), leaving the job as it is.

        :param on_poll: called after every poll with the job and whether its state changed.
        :param timeout_parameter: the parameter the timeout message tells the user to raise.
        """
        targets = lifecycle.normalize_states(target_states, lifecycle.DEFAULT_TARGET_STATES)
        failures = lifecycle.normalize_states(failure_states, lifecycle.DEFAULT_FAILURE_STATES)
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        last_state: str | None = None
        transient_errors = 0
        while True:
            try:
                job = self.get_job(job_id)
                transient_errors = 0
            except exc.TRANSIENT_ERRORS as error:
                # A wait of hours should not die of one API hiccup that outlasted the request retries.
                transient_errors += 1
                if transient_errors > exc.MAX_CONSECUTIVE_TRANSIENT_ERRORS:
                    raise
                self.log.warning("Could not read job %s (%s); trying again at the next check", job_id, error)
                time.sleep(effective_check_interval(check_interval))
                continue
            state = lifecycle.job_state(job)
            if on_poll is not None:
                on_poll(job, state != last_state)
            last_state = state
            outcome = lifecycle.evaluate_wait(state, targets, failures)
            if outcome is lifecycle.WaitOutcome.REACHED:
                return job
            if outcome is lifecycle.WaitOutcome.FAILED:
                raise exc.JobFailedError(job, self.log_tail_for_error(job_id), targets)
            if deadline is not None and time.monotonic() >= deadline:
                raise exc.JobWaitTimeoutError(
                    str(job_id), state, float(timeout or 0), targets, parameter=timeout_parameter
                )
            pause = effective_check_interval(check_interval)
            if deadline is not None:
                pause = max(0.0, min(pause, deadline - time.monotonic()))
            time.sleep(pause)

    def log_tail_for_error(self, job_id: str, lines: int = FAILURE_LOG_LINES) -> str:
        """The last lines of the job's log for an error message; empty when they cannot be read."""
        try:
            return self.get_job_logs(job_id, tail=lines)
        except exc.OVHCloudAITrainingError as error:
            self.log.warning("Could not read the log of job %s: %s", job_id, error)
            return ""

    def test_connection(self) -> tuple[bool, str]:
        """Check the connection by asking the API who the token belongs to."""
        try:
            me = self.me()
        except exc.OVHCloudAITrainingError as error:
            return False, str(error)
        return True, f"Connected to {self.base_url} as {me.get('name')} (role {me.get('role')})"

    # ------------------------------------------------------------------ async (for the trigger)

    async def aget_job(self, job_id: str) -> dict[str, Any]:
        """Async :meth:`get_job`."""
        job: dict[str, Any] = (await self._arequest("GET", f"/v1/job/{_id(job_id)}", idempotent=True)).json()
        return job

    async def aget_job_status(self, job_id: str) -> str:
        """Async :meth:`get_job_status`."""
        return lifecycle.job_state(await self.aget_job(job_id))

    async def aget_job_logs(self, job_id: str, tail: int | None = None) -> str:
        """Async :meth:`get_job_logs` (``tail`` only)."""
        params = {"tail": int(tail)} if tail is not None else None
        response = await self._arequest("GET", f"/v1/job/{_id(job_id)}/log", idempotent=True, params=params)
        return response.text

    async def astop_job(self, job_id: str) -> None:
        """Async :meth:`stop_job`."""
        await self._arequest("PUT", f"/v1/job/{_id(job_id)}/kill", idempotent=True)

    async def adelete_job(self, job_id: str, force: bool = False) -> None:
        """Async :meth:`delete_job`."""
        params = {"force": "true"} if force else None
        await self._arequest("DELETE", f"/v1/job/{_id(job_id)}", idempotent=True, params=params)

    # ------------------------------------------------------------------ helpers of the document

    @staticmethod
    def build_volume(
        container: str,
        alias: str,
        mount_path: str,
        prefix: str | None = None,
        permission: str = "RO",
        cache: bool = False,
    ) -> dict[str, Any]:
        """A volume from an Object Storage container; see :func:`job_spec.build_volume`."""
        return job_spec.build_volume(container, alias, mount_path, prefix, permission, cache)

    @staticmethod
    def build_env_vars(env: Mapping[str, Any]) -> list[dict[str, str]]:
        """``{"K": "v"}`` as ``[{"name": "K", "value": "v"}]``."""
        return job_spec.build_env_vars(env)


# ---------------------------------------------------------------------- module helpers

# One async client per event loop and endpoint: hundreds of triggers in one triggerer share a connection
# pool instead of each building its own client (and TLS context).
_ASYNC_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], httpx.AsyncClient]]
_ASYNC_CLIENTS = weakref.WeakKeyDictionary()


def _shared_async_client(settings: ApiSettings, request_timeout: float) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    clients = _ASYNC_CLIENTS.setdefault(loop, {})
    key = (settings.base_url, hashlib.sha256(settings.token.encode()).hexdigest())
    client = clients.get(key)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            base_url=settings.base_url,
            headers=_headers(settings),
            timeout=request_timeout,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
        )
        clients[key] = client
    return client


def _headers(settings: ApiSettings) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {settings.token}",
        "Accept": "application/json",
        "User-Agent": f"apache-airflow-provider-ovhcloud-ai/{__version__}",
    }


def _connection_extra(conn: Any) -> dict[str, Any]:
    try:
        extra = conn.extra_dejson
    except Exception:
        return {}
    return extra if isinstance(extra, dict) else {}


def _url_from_host(host: str | None, port: int | None, schema: str | None) -> str | None:
    """The base URL a connection's host names: as is with a scheme, else https (http on loopback)."""
    if not host:
        return None
    host = host.strip().rstrip("/")
    if "://" in host:
        parts = urlsplit(host)
        netloc = parts.netloc if (parts.port or not port) else f"{parts.netloc}:{port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")
    scheme = schema if schema in ("http", "https") else ("http" if host in _LOOPBACK_HOSTS else "https")
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None and v != ""}


def _id(job_id: str) -> str:
    text = str(job_id).strip()
    if not text or "/" in text:
        raise exc.OVHCloudAITrainingConfigError(
            f"Invalid job id {job_id!r}: give the id a submit answered (job['id'])."
        )
    return text


def _page_items(body: Any, current: int, size: int | None) -> tuple[list[dict[str, Any]], bool]:
    """The jobs of one list answer and whether another page follows."""
    if isinstance(body, list):
        return body, bool(size) and len(body) >= int(size or 0) > 0
    items = list(body.get("items") or [])
    meta = body.get("metadata") or {}
    page_count = meta.get("pageCount")
    if isinstance(page_count, int):
        return items, current < page_count and bool(items)
    return items, False


def _positive_float(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def _mask(token: str) -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older task SDKs
        return
    mask_secret(token)
