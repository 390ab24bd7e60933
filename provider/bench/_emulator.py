"""Starts a real emulator process for a bench, the same way the tests do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# The tests' emulator starter is plain Python (no pytest): the benches reuse it rather than keep a copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from emulator_process import start_emulator_process

TOKEN = "bench-operator-token"
#: A bench's emulator may hold hundreds of jobs that all need interrupting on SIGTERM.
STOP_TIMEOUT = 60.0


class BenchEmulator:
    """A running emulator; ``stop()`` ends it (SIGTERM interrupts its jobs)."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        try:
            self._emulator = start_emulator_process(data_dir, TOKEN, *extra, stderr=subprocess.DEVNULL)
        except (FileNotFoundError, RuntimeError) as error:
            raise SystemExit(str(error)) from None
        self.url = self._emulator.url

    def connection_json(self) -> str:
        """The Airflow connection, as JSON, that points at this emulator."""
        return json.dumps({"conn_type": "generic", "login": "gra", "password": TOKEN, "host": self.url})

    def stop(self) -> None:
        """End the emulator."""
        self._emulator.stop(timeout=STOP_TIMEOUT)


def emit(name: str, value: float, unit: str, target: float | None, ok: bool, **extra: object) -> None:
    """One JSON line, the format every bench of the repo prints."""
    print(
        json.dumps({"name": name, "value": value, "unit": unit, "target": target, "ok": ok, **extra}),
        flush=True,
    )


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":  # pragma: no cover
    sys.exit("import this module from a bench script")
