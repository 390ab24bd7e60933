"""
Import cost of the operators module beyond ``import airflow.sdk``: what a DAG file using the provider adds
to every parse by the DAG processor. Measured inside fresh interpreters; the median of several runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

from _emulator import emit

RUNS = int(os.environ.get("BENCH_IMPORT_RUNS", "9"))
TARGET_MS = 50.0
CODE = (
    "import time, airflow.sdk\n"
    "t = time.perf_counter()\n"
    "import apache_airflow_provider_ovhcloud_ai.operators.ai_training\n"
    "print((time.perf_counter() - t) * 1000)\n"
)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ovh-bench-airflow-") as home:
        measure({**os.environ, "AIRFLOW_HOME": home})


def measure(env: dict[str, str]) -> None:
    """Import the operators module in fresh interpreters and print the median cost."""
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", CODE], capture_output=True, text=True, check=True, env=env
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    median = statistics.median(samples)
    emit(
        "provider.import_cost.operators_beyond_airflow_sdk",
        round(median, 2),
        "ms",
        TARGET_MS,
        median <= TARGET_MS,
        runs=RUNS,
        min=round(min(samples), 2),
        max=round(max(samples), 2),
    )


if __name__ == "__main__":
    main()
