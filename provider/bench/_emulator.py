"""Starts a real emulator process for a bench, the same way the tests do."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EMULATOR_MAIN = REPO / "packages" / "emulator" / "dist" / "src" / "main.js"
TOKEN = "bench-operator-token"


class BenchEmulator:
    """A running emulator; ``stop()`` ends it (SIGTERM interrupts its jobs)."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        if not EMULATOR_MAIN.exists():
            raise SystemExit(f"{EMULATOR_MAIN} is missing: run `npm run build` first")
        args = [
            "node",
            str(EMULATOR_MAIN),
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            "--token",
            TOKEN,
            *extra,
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        self.url = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("listening on "):
                self.url = line.split("listening on ", 1)[1].strip()
                return
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise SystemExit("the emulator did not start")

    def connection_json(self) -> str:
        return json.dumps({"conn_type": "generic", "login": "gra", "password": TOKEN, "host": self.url})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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
