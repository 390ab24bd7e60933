"""
Fixtures: an isolated AIRFLOW_HOME, and a REAL emulator process on 127.0.0.1 that the Airflow connection
``ovh_ai_training_default`` points at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Airflow reads its home when first imported: isolate it before anything imports airflow.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="ovh-provider-airflow-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.pop("AIRFLOW__OVHCLOUD_AI__MAX_CHECK_INTERVAL", None)
DAGS_FOLDER = Path(__file__).resolve().parent / "dags"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EMULATOR_MAIN = REPO / "packages" / "emulator" / "dist" / "src" / "main.js"
IMAGE = "pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime"
TOKEN = "operator-token-3f9c1d"
READ_TOKEN = "read-token-77ab02"


@dataclass
class Emulator:
    """A running emulator process."""

    url: str
    data_dir: Path
    process: subprocess.Popen[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_emulator(tmp: Path, *extra: str) -> Emulator:
    """Start ``node main.js --port 0`` and wait for its ``listening on`` line."""
    if not EMULATOR_MAIN.exists():
        pytest.skip(f"{EMULATOR_MAIN} is missing: run `npm run build` at the repo root")
    image_dir = tmp / "image"
    image_dir.mkdir(parents=True, exist_ok=True)
    (image_dir / "train.py").write_text(
        "import os\nfor i in range(3):\n    print('epoch', i, os.environ.get('EPOCHS', '?'), flush=True)\n"
    )
    data_dir = tmp / "data"
    container = data_dir / "object-storage" / "data-alias" / "training-data"
    container.mkdir(parents=True, exist_ok=True)
    (container / "rows.csv").write_text("a,b\n1,2\n")
    args = [
        "node",
        str(EMULATOR_MAIN),
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        "--token",
        TOKEN,
        "--read-token",
        READ_TOKEN,
        "--image",
        f"{IMAGE}={image_dir}",
        *extra,
    ]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("listening on "):
            return Emulator(line.split("listening on ", 1)[1].strip(), data_dir, process)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("the emulator did not print its 'listening on' line")


def connection_json(url: str, token: str = TOKEN, login: str = "gra", conn_type: str = "generic") -> str:
    """The JSON form of an Airflow connection pointing at ``url``."""
    return json.dumps({"conn_type": conn_type, "login": login, "password": token, "host": url})


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    tmp = Path(tempfile.mkdtemp(prefix="ovh-provider-emulator-"))
    emu = start_emulator(tmp, "--slots", "8", "--stop-grace-ms", "500")
    os.environ["AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"] = connection_json(emu.url)
    os.environ["AIRFLOW_CONN_OVH_READ_ONLY"] = connection_json(emu.url, READ_TOKEN)
    os.environ["AIRFLOW_CONN_OVH_WRONG_TOKEN"] = connection_json(emu.url, "not-the-token-9911")
    try:
        yield emu
    finally:
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def hook(emulator: Emulator) -> Any:
    from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

    h = OVHCloudAITrainingHook()
    yield h
    h.close()


@pytest.fixture(scope="session")
def airflow_db(emulator: Emulator) -> str:
    """An Airflow metadata database in the isolated AIRFLOW_HOME, for ``dag.test()``."""
    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return _AIRFLOW_HOME


class FakeTaskInstance:
    """Stands in for the worker's task instance where a test calls ``execute`` directly."""

    def __init__(self, dag_id: str = "test_dag", task_id: str = "submit_job", try_number: int = 1) -> None:
        self.dag_id = dag_id
        self.task_id = task_id
        self.run_id = "manual__2024-01-01T00:00:00+00:00"
        self.map_index = -1
        self.try_number = try_number
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def context_for(ti: FakeTaskInstance) -> dict[str, Any]:
    """The few context keys the operators read."""
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id}


def python_command(code: str) -> list[str]:
    """A job command that runs ``code`` with the emulator's python."""
    return ["python", "-c", code]
