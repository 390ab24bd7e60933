"""The tests remove their temporary folders: an emulator data dir they made, the session's AIRFLOW_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TOKEN
from emulator_process import EMULATOR_MAIN, start_emulator_process

TESTS = Path(__file__).resolve().parent


@pytest.mark.skipif(not EMULATOR_MAIN.exists(), reason="the emulator is not built (npm run build)")
def test_an_emulator_started_without_a_data_dir_removes_the_one_it_made() -> None:
    emulator = start_emulator_process(None, TOKEN, stderr=subprocess.DEVNULL)
    try:
        assert emulator.owns_data_dir and emulator.data_dir.is_dir()
    finally:
        emulator.stop()
    assert not emulator.data_dir.exists()


def test_a_pytest_session_leaves_no_airflow_home_behind(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    one_test = f"{TESTS / 'test_lifecycle.py'}::test_normalize_states_accepts_one_string_and_lower_case"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", one_test],
        check=False,
        cwd=TESTS.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert not list(tmp_path.glob("ovh-provider-airflow-*"))
