"""The hook against a real emulator process: connection, jobs, logs, waits, errors, retries."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from apache_airflow_provider_ovhcloud_ai import exceptions as exc
from apache_airflow_provider_ovhcloud_ai._http import RetryPolicy
from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook, _page_items
from conftest import IMAGE, READ_TOKEN, TOKEN, Emulator, connection_json, python_command, start_emulator

FAST = dict(check_interval=0.2, timeout=60)


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, value: dict[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))


# ---------------------------------------------------------------- connection


def test_generic_connection_uses_login_as_region_and_host_as_endpoint(emulator: Emulator) -> None:
    hook = OVHCloudAITrainingHook()
    assert hook.settings.region == "gra"
    assert hook.base_url == emulator.url
    assert hook.test_connection()[0] is True


def test_region_picks_its_endpoint_when_no_host_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "ovh_bhs", {"conn_type": "generic", "login": "bhs", "password": "x"})
    assert OVHCloudAITrainingHook("ovh_bhs").base_url == "https://bhs.ai.cloud.ovh.net"
    assert OVHCloudAITrainingHook("ovh_bhs", region="gra").base_url == "https://gra.ai.cloud.ovh.net"


def test_own_connection_type_reads_the_endpoint_extra(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    _conn(
        monkeypatch,
        "ovh_typed",
        {
            "conn_type": "ovhcloud_ai_training",
            "login": "gra",
            "password": TOKEN,
            "extra": {"endpoint": emulator.url},
        },
    )
    hook = OVHCloudAITrainingHook("ovh_typed")
    assert hook.base_url == emulator.url
    assert hook.me()["role"] == "operator"


def test_invalid_region_lists_the_valid_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "ovh_badregion", {"conn_type": "generic", "login": "sbg", "password": "x"})
    with pytest.raises(exc.InvalidRegionError, match="use one of gra, bhs"):
        OVHCloudAITrainingHook("ovh_badregion").get_job("x")
    with pytest.raises(exc.InvalidRegionError, match="'mars'"):
        _ = OVHCloudAITrainingHook(region="mars").settings


def test_endpoint_ending_in_v1_is_refused_with_the_url_to_use(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(
        monkeypatch,
        "ovh_v1",
        {"conn_type": "generic", "login": "gra", "password": "x", "host": "http://127.0.0.1:9/v1/"},
    )
    with pytest.raises(exc.OVHCloudAITrainingConfigError, match=r"without /v1, e.g. http://127.0.0.1:9$"):
        _ = OVHCloudAITrainingHook("ovh_v1").settings


def test_the_emulator_gets_its_tokens_from_the_environment_not_its_command_line(emulator: Emulator) -> None:
    cmdline = Path(f"/proc/{emulator.process.pid}/cmdline").read_bytes().decode()
    assert TOKEN not in cmdline and READ_TOKEN not in cmdline
    assert OVHCloudAITrainingHook().me()["role"] == "operator"


def test_missing_token_names_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "ovh_notoken", {"conn_type": "generic", "login": "gra"})
    with pytest.raises(exc.TokenNotFoundError, match="connection 'ovh_notoken' has no password"):
        OVHCloudAITrainingHook("ovh_notoken").get_job("x")


def test_wrong_token_says_so_without_showing_it(emulator: Emulator) -> None:
    hook = OVHCloudAITrainingHook("ovh_wrong_token")
    with pytest.raises(exc.AuthenticationError) as info:
        hook.list_jobs()
    assert "not-the-token-9911" not in str(info.value)
    assert info.value.status == 401
    ok, message = hook.test_connection()
    assert ok is False and "not-the-token-9911" not in message


def test_read_token_may_read_but_not_submit(emulator: Emulator) -> None:
    hook = OVHCloudAITrainingHook("ovh_read_only")
    assert isinstance(hook.list_jobs(), list)
    with pytest.raises(exc.PermissionDeniedError, match="operator token") as info:
        hook.submit_job(image=IMAGE, command=["true"])
    assert READ_TOKEN not in str(info.value)


def test_unreachable_endpoint_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _conn(
        monkeypatch,
        "ovh_down",
        {"conn_type": "generic", "login": "gra", "password": "t", "host": f"http://127.0.0.1:{port}"},
    )
    hook = OVHCloudAITrainingHook("ovh_down", retry=RetryPolicy(max_retries=1, initial_delay=0.01))
    with pytest.raises(exc.ApiConnectionError, match=f"127.0.0.1:{port}"):
        hook.get_job("abc")
    with pytest.raises(exc.ApiConnectionError, match=f"127.0.0.1:{port}"):
        asyncio.run(hook.aget_job("abc"))


# ---------------------------------------------------------------- jobs


def test_submit_sends_every_document_parameter(hook: OVHCloudAITrainingHook) -> None:
    job = hook.submit_job(
        image=IMAGE,
        name="gpu-training-job",
        command=["python", "train.py"],
        flavor="ai1-1-gpu",
        gpu=1,
        gpu_model="V100S",
        env_vars={"EPOCHS": "100", "BATCH_SIZE": "32"},
        labels={"project": "p"},
        ssh_public_keys=["ssh-ed25519 AAAAC3Nza test"],
        default_http_port=8081,
        job_timeout=600,
        unsecure_http=True,
    )
    spec = job["spec"]
    assert spec["name"] == "gpu-training-job"
    assert spec["resources"]["flavor"] == "ai1-1-gpu" and spec["resources"]["gpu"] == 1
    assert {"name": "EPOCHS", "value": "100"} in spec["envVars"]
    assert spec["timeout"] == 600 and spec["defaultHttpPort"] == 8081 and spec["unsecureHttp"] is True
    final = hook.wait_for_job(job["id"], **FAST)
    assert final["status"]["state"] == "DONE"
    assert "epoch 2 100" in hook.get_job_logs(job["id"])


def test_get_job_status_and_list_filters(hook: OVHCloudAITrainingHook) -> None:
    job = hook.submit_job(image=IMAGE, command=["true"], labels={"suite": "list-filters"})
    hook.wait_for_job(job["id"], **FAST)
    assert hook.get_job_status(job["id"]) == "DONE"
    by_label = hook.list_jobs(label_selector={"suite": "list-filters"})
    assert [j["id"] for j in by_label] == [job["id"]]
    assert hook.list_jobs(label_selector="suite=list-filters", status_state="FAILED") == []
    assert job["id"] in [j["id"] for j in hook.list_jobs(status_state=["DONE", "FAILED"])]


def test_list_jobs_reads_every_page(hook: OVHCloudAITrainingHook) -> None:
    ids = {hook.submit_job(image=IMAGE, command=["true"], labels={"suite": "paging"})["id"] for _ in range(3)}
    all_pages = hook.list_jobs(label_selector={"suite": "paging"}, size=2)
    assert {j["id"] for j in all_pages} == ids
    one_page = hook.list_jobs(label_selector={"suite": "paging"}, size=2, page=2)
    assert len(one_page) == 1


def test_list_answers_of_both_shapes_are_read() -> None:
    job = {"id": "a"}
    assert _page_items([job], 1, None) == ([job], False)
    assert _page_items([job, job], 1, 2) == ([job, job], True)
    assert _page_items({"items": [job], "metadata": {"pageCount": 3}}, 1, 1) == ([job], True)
    assert _page_items({"items": [job], "metadata": {"pageCount": 3}}, 3, 1) == ([job], False)


def test_logs_tail_and_since(hook: OVHCloudAITrainingHook) -> None:
    job = hook.submit_job(image=IMAGE, command=python_command("for i in range(5): print('line', i)"))
    hook.wait_for_job(job["id"], **FAST)
    assert hook.get_job_logs(job["id"]).splitlines() == [f"line {i}" for i in range(5)]
    assert hook.get_job_logs(job["id"], tail=2).splitlines() == ["line 3", "line 4"]
    assert hook.get_job_logs(job["id"], since=3).splitlines() == ["line 3", "line 4"]
    assert hook.get_job_logs(job["id"], since=5) == ""


def test_stop_and_delete_with_force(hook: OVHCloudAITrainingHook) -> None:
    job = hook.submit_job(image=IMAGE, command=["sleep", "60"])
    hook.wait_for_job(job["id"], target_states=["RUNNING"], **FAST)
    with pytest.raises(exc.BadRequestError):
        hook.delete_job(job["id"])
    hook.stop_job(job["id"])
    with pytest.raises(exc.JobFailedError) as info:
        hook.wait_for_job(job["id"], **FAST)
    assert info.value.state == "INTERRUPTED"
    other = hook.submit_job(image=IMAGE, command=["sleep", "60"])
    hook.delete_job(other["id"], force=True)
    with pytest.raises(exc.JobNotFoundError):
        hook.get_job(other["id"])


def test_failed_job_error_gives_state_exit_code_message_and_log_tail(hook: OVHCloudAITrainingHook) -> None:
    code = "import sys; print('loading data'); print('boom: bad column', file=sys.stderr); sys.exit(3)"
    job = hook.submit_job(image=IMAGE, name="will-fail", command=python_command(code))
    with pytest.raises(exc.JobFailedError) as info:
        hook.wait_for_job(job["id"], **FAST)
    text = str(info.value)
    assert job["id"] in text and "FAILED" in text and "exit code 3" in text
    assert "boom: bad column" in text
    assert "Check the job logs" in text
    assert info.value.exit_code == 3


def test_wait_fails_at_once_on_a_final_state_that_is_not_a_target(hook: OVHCloudAITrainingHook) -> None:
    job = hook.submit_job(image=IMAGE, command=["true"])
    hook.wait_for_job(job["id"], **FAST)
    polls: list[str] = []
    with pytest.raises(exc.JobFailedError, match="DONE"):
        hook.wait_for_job(
            job["id"],
            target_states=["RUNNING"],
            failure_states=[],
            check_interval=30,
            timeout=600,
            on_poll=lambda j, changed: polls.append(j["status"]["state"]),
        )
    assert polls == ["DONE"]


def test_wait_timeout_gives_last_state_and_limit(hook: OVHCloudAITrainingHook) -> None:
    job = hook.submit_job(image=IMAGE, command=["sleep", "60"])
    with pytest.raises(exc.JobWaitTimeoutError) as info:
        hook.wait_for_job(job["id"], check_interval=0.2, timeout=1, timeout_parameter="wait_timeout")
    text = str(info.value)
    assert "within 1 s" in text and "wait_timeout" in text and info.value.last_state in text
    hook.delete_job(job["id"], force=True)


def test_invalid_flavor_lists_the_flavors_the_api_offers(hook: OVHCloudAITrainingHook) -> None:
    offered = [f["id"] for f in hook.list_flavors()]
    with pytest.raises(exc.InvalidFlavorError) as info:
        hook.submit_job(image=IMAGE, command=["true"], flavor="ai9-imaginary")
    assert info.value.valid_flavors == offered
    assert "Invalid flavor 'ai9-imaginary'" in str(info.value)
    assert all(f in str(info.value) for f in offered)


def test_bad_job_spec_sends_nothing(hook: OVHCloudAITrainingHook) -> None:
    before = len(hook.list_jobs())
    with pytest.raises(exc.JobSpecError, match="labels"):
        hook.submit_job(image=IMAGE, labels={"ovh/owner": "me"})
    assert len(hook.list_jobs()) == before


def test_token_is_in_no_error_message(hook: OVHCloudAITrainingHook) -> None:
    errors: list[BaseException] = []
    for call in (lambda: hook.get_job("no-such-job"), lambda: hook.submit_job(image=IMAGE, flavor="nope")):
        try:
            call()
        except exc.OVHCloudAITrainingError as error:
            errors.append(error)
    assert len(errors) == 2
    assert all(TOKEN not in f"{e!s}{e!r}" for e in errors)
    assert TOKEN not in repr(hook.settings)


# ---------------------------------------------------------------- retries against injected faults


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory, emulator: Emulator) -> Any:
    emu = start_emulator(
        tmp_path_factory.mktemp("faulty"),
        "--fault-rate-503",
        "0.3",
        "--fault-rate-429",
        "0.1",
        "--fault-seed",
        "7",
    )
    os.environ["AIRFLOW_CONN_OVH_FAULTY"] = connection_json(emu.url)
    yield emu
    emu.stop()


def test_reads_survive_injected_429_and_503(faulty: Emulator) -> None:
    hook = OVHCloudAITrainingHook(
        "ovh_faulty", retry=RetryPolicy(max_retries=8, initial_delay=0.01, max_delay=1.5)
    )
    for _ in range(20):
        assert isinstance(hook.list_jobs(), list)


def test_async_reads_survive_injected_429_and_503(faulty: Emulator) -> None:
    hook = OVHCloudAITrainingHook(
        "ovh_faulty", retry=RetryPolicy(max_retries=8, initial_delay=0.01, max_delay=1.5)
    )
    job = _submit_until_accepted(hook, ["true"])

    async def read_twenty_times() -> list[str]:
        return [await hook.aget_job_status(job["id"]) for _ in range(20)]

    assert all(isinstance(state, str) and state for state in asyncio.run(read_twenty_times()))


def test_submit_is_not_repeated_after_an_injected_failure(faulty: Emulator) -> None:
    hook = OVHCloudAITrainingHook(
        "ovh_faulty", retry=RetryPolicy(max_retries=8, initial_delay=0.01, max_delay=1.5)
    )
    attempts, failures = 20, 0
    for _ in range(attempts):
        try:
            hook.submit_job(image=IMAGE, command=["true"], labels={"suite": "no-double-submit"})
        except (exc.ServerError, exc.RateLimitError):
            failures += 1
    created = hook.list_jobs(label_selector={"suite": "no-double-submit"})
    assert failures > 0
    assert len(created) == attempts - failures


def test_missing_emulator_build_is_reported(tmp_path: Path) -> None:
    # Keeps the skip message honest: the fixture points at the file `npm run build` produces.
    from emulator_process import EMULATOR_MAIN

    assert EMULATOR_MAIN.name == "main.js" and "dist" in EMULATOR_MAIN.parts


def test_a_wait_rides_out_transient_errors_between_checks(faulty: Emulator) -> None:
    # One retry per read leaves ~9% of reads failing: over ~40 checks a wait without tolerance would die.
    hook = OVHCloudAITrainingHook(
        "ovh_faulty", retry=RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=1.5)
    )
    job = _submit_until_accepted(hook, ["sleep", "2"])
    final = hook.wait_for_job(job["id"], check_interval=0.05, timeout=60)
    assert final["status"]["state"] == "DONE"


def _submit_until_accepted(hook: OVHCloudAITrainingHook, command: list[str]) -> dict[str, Any]:
    # A submit is never retried by the hook, so under injected faults the test itself tries again.
    for _ in range(20):
        try:
            return hook.submit_job(image=IMAGE, command=command)
        except (exc.ServerError, exc.RateLimitError):
            continue
    raise AssertionError("the faulty emulator refused 20 submits in a row")


@pytest.mark.parametrize(
    ("host", "port", "schema", "expected"),
    [
        ("http://127.0.0.1:8080", None, None, "http://127.0.0.1:8080"),
        ("http://127.0.0.1", 8080, None, "http://127.0.0.1:8080"),
        ("https://proxy.example/ai/", None, None, "https://proxy.example/ai"),
        ("127.0.0.1", 9000, None, "http://127.0.0.1:9000"),
        ("gra.ai.cloud.ovh.net", None, None, "https://gra.ai.cloud.ovh.net"),
        ("internal-proxy", 80, "http", "http://internal-proxy:80"),
    ],
)
def test_connection_host_becomes_the_base_url(
    host: str, port: int | None, schema: str | None, expected: str
) -> None:
    from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import _url_from_host

    assert _url_from_host(host, port, schema) == expected


def test_airflow_tests_a_connection_of_the_providers_type_through_the_hook(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    from airflow.models.connection import Connection

    value = {"conn_type": "ovhcloud_ai_training", "login": "gra", "password": TOKEN, "host": emulator.url}
    _conn(monkeypatch, "ovh_ui_typed", value)
    conn = Connection(conn_id="ovh_ui_typed", **{k: v for k, v in value.items()})
    assert isinstance(conn.get_hook(), OVHCloudAITrainingHook)
    ok, message = conn.test_connection()
    assert ok is True and emulator.url in message and TOKEN not in message
