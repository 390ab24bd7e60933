"""
Starts a real emulator process on 127.0.0.1 and stops it; the test fixtures and the benches both use it.

Plain Python with no pytest import, so a bench can import it too; nothing of the runtime package depends
on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
EMULATOR_MAIN = REPO / "packages" / "emulator" / "dist" / "src" / "main.js"
#: Seconds the emulator may take to print its ``listening on`` line.
START_TIMEOUT = 30.0


@dataclass
class EmulatorProcess:
    """A running emulator process and the URL it listens on."""

    url: str
    data_dir: Path
    process: subprocess.Popen[str]
    #: True when :func:`start_emulator_process` made ``data_dir`` itself: ``stop()`` then removes it.
    owns_data_dir: bool = False

    def stop(self, timeout: float = 15) -> None:
        """
        End the emulator (SIGTERM interrupts its jobs); kill it when it takes longer than ``timeout``.

        :param timeout: seconds to wait for a clean exit.
        """
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def start_emulator_process(
    data_dir: Path | None,
    token: str,
    *extra: str,
    read_token: str | None = None,
    stderr: int | IO[Any] | None = None,
) -> EmulatorProcess:
    """
    Start ``node main.js --port 0`` and wait for its ``listening on`` line.

    Raises :class:`FileNotFoundError` when the emulator is not built, :class:`RuntimeError` when it does
    not start.

    :param data_dir: the emulator's data folder; ``None`` makes a temporary one that ``stop()`` removes.
    :param token: its operator token, passed in the environment so that ``ps`` never shows it.
    :param extra: more command line flags (``--image``, ``--slots``, faults...).
    :param read_token: its read-only token, also passed in the environment.
    :param stderr: where its stderr goes (``subprocess.DEVNULL`` to drop it; default: inherited).
    """
    if not EMULATOR_MAIN.exists():
        raise FileNotFoundError(f"{EMULATOR_MAIN} is missing: run `npm run build` at the repo root")
    owned = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="ovh-provider-emulator-")) if data_dir is None else data_dir
    args = ["node", str(EMULATOR_MAIN), "--port", "0", "--data-dir", str(folder), *extra]
    env = {**os.environ, "OVH_AI_TRAINING_TOKEN": token}
    if read_token is not None:
        env["OVH_AI_TRAINING_READ_TOKEN"] = read_token
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("listening on "):
            url = line.split("listening on ", 1)[1].strip()
            return EmulatorProcess(url, folder, process, owns_data_dir=owned)
        if not line and process.poll() is not None:
            break
    process.kill()
    process.wait()
    if owned:
        shutil.rmtree(folder, ignore_errors=True)
    raise RuntimeError("the emulator did not print its 'listening on' line")
