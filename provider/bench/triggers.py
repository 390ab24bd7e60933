"""
One process running N trigger instances (default 500) in one asyncio loop, each waiting on its own
concurrent emulator job (``sleep``), as a triggerer would. Reports requests per job per check interval
(target 1 or less), the process's peak resident memory (target 300 MB or less), and the worker slots the
blocking mode would hold for the same jobs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _emulator import BenchEmulator, emit, rss_mb

JOBS = int(os.environ.get("BENCH_TRIGGER_JOBS", "500"))
SLEEP_S = int(os.environ.get("BENCH_TRIGGER_SLEEP_S", "25"))
INTERVAL_S = float(os.environ.get("BENCH_TRIGGER_INTERVAL_S", "3"))


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ovh-bench-triggers-"))
    os.environ["AIRFLOW_HOME"] = str(tmp / "airflow")
    os.environ.pop("AIRFLOW__OVHCLOUD_AI__MAX_CHECK_INTERVAL", None)
    emulator = BenchEmulator(tmp / "data", "--slots", str(JOBS + 10))
    os.environ["AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"] = emulator.connection_json()
    try:
        run(emulator)
    finally:
        emulator.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(emulator: BenchEmulator) -> None:
    import httpx

    from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook
    from apache_airflow_provider_ovhcloud_ai.triggers.ai_training import OVHCloudAITrainingJobTrigger

    hook = OVHCloudAITrainingHook()
    job_ids = [
        hook.submit_job(image="bench", command=["sleep", str(SLEEP_S)], labels={"bench": "triggers"})["id"]
        for _ in range(JOBS)
    ]
    hook.close()

    # Count what the triggers send, at the client: every request any AsyncClient makes in this process.
    per_job: Counter[str] = Counter()
    latencies: list[float] = []
    other = 0
    original_send = httpx.AsyncClient.send

    async def counting_send(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        nonlocal other
        parts = request.url.path.split("/")
        if request.method == "GET" and len(parts) == 4 and parts[1:3] == ["v1", "job"]:
            per_job[parts[3]] += 1
        else:
            other += 1
        sent = time.monotonic()
        try:
            return await original_send(self, request, **kwargs)
        finally:
            latencies.append(time.monotonic() - sent)

    httpx.AsyncClient.send = counting_send  # type: ignore[method-assign]
    peak = rss_mb()

    async def wait_one(job_id: str) -> tuple[str, float]:
        trigger = OVHCloudAITrainingJobTrigger(job_id=job_id, check_interval=INTERVAL_S)
        started = time.monotonic()
        async for event in trigger.run():
            return str(event.payload["status"]), time.monotonic() - started
        return "none", time.monotonic() - started

    async def sample_memory(stop: asyncio.Event) -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_mb())
            await asyncio.sleep(0.5)

    async def all_triggers() -> list[tuple[str, float]]:
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_memory(stop))
        results = await asyncio.gather(*(wait_one(j) for j in job_ids))
        stop.set()
        await sampler
        return list(results)

    started = time.monotonic()
    cpu_started = time.process_time()
    # The triggers log each state change on stdout; this script's stdout is for its JSON lines only.
    saved_stdout = os.dup(1)
    sys.stdout.flush()
    os.dup2(2, 1)
    try:
        results = asyncio.run(all_triggers())
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    peak = max(peak, rss_mb())

    statuses = Counter(status for status, _ in results)
    # A trigger reads at once, then once per interval: over a wait of T it is alive for floor(T/i) + 1
    # check intervals, and one read per interval is the ideal.
    intervals = sum(int(elapsed // INTERVAL_S) + 1 for _, elapsed in results)
    requests = sum(per_job[j] for j in job_ids)
    ratio = requests / intervals if intervals else float("nan")
    common = {"jobs": JOBS, "check_interval_s": INTERVAL_S, "job_sleep_s": SLEEP_S}
    emit(
        "provider.trigger.requests_per_job_per_interval",
        round(ratio, 3),
        "requests",
        1,
        ratio <= 1 and statuses.get("success", 0) == JOBS,
        requests=requests,
        other_requests=other,
        intervals=intervals,
        events=dict(statuses),
        get_latency_median_ms=round(statistics.median(latencies) * 1000, 1) if latencies else None,
        wall_s=round(wall, 1),
        # Client-side cost: httpx spends a few ms of CPU per request, which is what delays a round of
        # 500 in-phase reads (each loop then takes interval + latency, hence a ratio under 1).
        cpu_s=round(cpu, 2),
        cpu_ms_per_request=round(cpu * 1000 / requests, 2) if requests else None,
        **common,
    )
    emit("provider.trigger.peak_rss", round(peak, 1), "MB", 300, peak <= 300, **common)
    emit(
        "provider.trigger.worker_slots_blocking_mode",
        JOBS,
        "slots",
        None,
        True,
        deferrable_worker_slots=0,
        triggerer_processes=1,
        note="blocking waits hold one worker slot per job; deferred ones hold none",
        **common,
    )


if __name__ == "__main__":
    sys.exit(main())
