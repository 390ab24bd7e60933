"""The retry rules, the same as the TypeScript client's."""

from __future__ import annotations

from apache_airflow_provider_ovhcloud_ai._http import RetryPolicy, parse_retry_after, retry_delay

POLICY = RetryPolicy()


def test_reads_are_retried_on_429_and_gateway_errors_with_growing_delays() -> None:
    for status in (429, 502, 503, 504):
        first = retry_delay(
            idempotent=True, retries_done=0, elapsed=0, policy=POLICY, status=status, rand=0.0
        )
        third = retry_delay(
            idempotent=True, retries_done=2, elapsed=0, policy=POLICY, status=status, rand=0.0
        )
        assert first is not None and third is not None
        assert third == 4 * first


def test_other_errors_are_not_retried() -> None:
    for status in (400, 401, 403, 404, 409, 500):
        assert retry_delay(idempotent=True, retries_done=0, elapsed=0, policy=POLICY, status=status) is None


def test_a_submit_is_never_retried_once_it_may_have_reached_the_server() -> None:
    assert retry_delay(idempotent=False, retries_done=0, elapsed=0, policy=POLICY, status=503) is None
    assert retry_delay(idempotent=False, retries_done=0, elapsed=0, policy=POLICY, not_sent=False) is None
    assert retry_delay(idempotent=False, retries_done=0, elapsed=0, policy=POLICY, not_sent=True) is not None


def test_retries_are_bounded_in_count_and_time() -> None:
    assert retry_delay(idempotent=True, retries_done=4, elapsed=0, policy=POLICY, status=503) is None
    assert retry_delay(idempotent=True, retries_done=0, elapsed=29.99, policy=POLICY, status=503) is None


def test_jitter_stays_between_half_and_full_backoff() -> None:
    low = retry_delay(idempotent=True, retries_done=1, elapsed=0, policy=POLICY, status=503, rand=0.0)
    high = retry_delay(idempotent=True, retries_done=1, elapsed=0, policy=POLICY, status=503, rand=0.999)
    assert low == 0.2
    assert high is not None and 0.39 < high < 0.4


def test_retry_after_is_honoured_and_a_too_long_one_gives_up() -> None:
    delay = retry_delay(idempotent=True, retries_done=0, elapsed=0, policy=POLICY, status=429, retry_after=3)
    assert delay == 3
    too_long = retry_delay(
        idempotent=True, retries_done=0, elapsed=0, policy=POLICY, status=429, retry_after=60
    )
    assert too_long is None


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    parsed = parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0)
    assert parsed == 10.0
