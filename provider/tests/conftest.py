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
from collections.abc import Iterator
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

from emulator_process import EmulatorProcess as Emulator  # noqa: E402
from emulator_process import start_emulator_process  # noqa: E402

IMAGE = "pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime"
TOKEN = "operator-token-3f9c1d"
READ_TOKEN = "read-token-77ab02"


def start_emulator(tmp: Path, *extra: str) -> Emulator:
    """An emulator with the tests' tokens, an image whose ``/workspace`` holds ``train.py``, one container."""
    image_dir = tmp / "image"
    image_dir.mkdir(parents=True, exist_ok=True)
    (image_dir / "train.py").write_text(
        "import os\nfor i in range(3):\n    print('epoch', i, os.environ.get('EPOCHS', '?'), flush=True)\n"
    )
    data_dir = tmp / "data"
    container = data_dir / "object-storage" / "data-alias" / "training-data"
    container.mkdir(parents=True, exist_ok=True)
    (container / "rows.csv").write_text("a,b\n1,2\n")
    flags = ["--image", f"{IMAGE}={image_dir}", *extra]
    try:
        return start_emulator_process(data_dir, TOKEN, *flags, read_token=READ_TOKEN, stderr=sys.stderr)
    except FileNotFoundError as error:
        pytest.skip(str(error))


def connection_json(url: str, token: str = TOKEN, login: str = "gra", conn_type: str = "generic") -> str:
    """The JSON form of an Airflow connection pointing at ``url``."""
    return json.dumps({"conn_type": conn_type, "login": login, "password": token, "host": url})


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the isolated AIRFLOW_HOME (its airflow.db is most of a megabyte) once the session is over."""
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


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
