"""Whole DAGs (tests/dags/) run with ``dag.test()``: real templates, XCom, trigger rules, on the emulator."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

from conftest import DAGS_FOLDER, TOKEN, Emulator


def _dag(file: str, dag_id: str) -> Any:
    spec = importlib.util.spec_from_file_location(file.removesuffix(".py"), DAGS_FOLDER / file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for value in vars(module).values():
        if getattr(value, "dag_id", None) == dag_id and hasattr(value, "test"):
            return value
    raise AssertionError(f"{dag_id} not in {file}")


def _states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _xcoms(dag_run: Any, task_id: str) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id)
        )
        return {row.key: XComModel.deserialize_value(row) for row in rows}


def _rendered_fields(dag_run: Any) -> dict[str, Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as Rtif
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(Rtif).where(Rtif.dag_id == dag_run.dag_id, Rtif.run_id == dag_run.run_id)
        )
        return {row.task_id: dict(row.rendered_fields) for row in rows}


def test_complete_workflow_runs_and_cleans_up(airflow_db: str, emulator: Emulator, hook: Any) -> None:
    dag = _dag("provider_complete_workflow.py", "provider_complete_workflow")
    dag_run = dag.test()
    xcoms = _xcoms(dag_run, "submit_job")
    job_id = xcoms["return_value"]["id"]
    assert xcoms["_link_OVHCloudAITrainingJobLink"] == f"{emulator.url}/v1/job/{job_id}"
    assert TOKEN not in json.dumps(xcoms)
    rendered = _rendered_fields(dag_run)
    assert rendered["submit_job"]["name"].startswith("my-training-2")  # {{ ds_nodash }} rendered
    assert rendered["wait_for_completion"]["job_id"] == job_id
    assert TOKEN not in json.dumps(rendered, default=str)
    assert _states(dag_run) == {
        "submit_job": "success",
        "wait_for_completion": "success",
        "get_logs": "success",
        "delete_job": "success",
    }
    assert hook.list_jobs(label_selector={"suite": "dag-test"}) == []


def test_cleanup_succeeds_when_the_submit_failed(airflow_db: str, emulator: Emulator) -> None:
    dag = _dag("provider_cleanup_after_failed_submit.py", "provider_cleanup_after_failed_submit")
    assert _states(dag.test()) == {"submit_job": "failed", "cleanup_job": "success"}


@pytest.mark.parametrize("label", ["failing-false", "failing-true"])
def test_failed_training_fails_the_submit_and_is_still_cleaned_up(
    airflow_db: str, emulator: Emulator, hook: Any, label: str, capfd: pytest.CaptureFixture[str]
) -> None:
    dag = _dag("provider_failing_training.py", f"provider_{label}")
    assert _states(dag.test()) == {"submit_job": "failed", "delete_job": "success"}
    assert hook.list_jobs(label_selector={"suite": label}) == []
    out, err = capfd.readouterr()
    task_log = out + err
    assert "exit code 7" in task_log and "diverged" in task_log
    assert TOKEN not in task_log


def test_sensor_in_reschedule_mode_ends_when_the_job_is_done(airflow_db: str, emulator: Emulator) -> None:
    dag = _dag("provider_sensor_reschedule.py", "provider_sensor_reschedule")
    assert _states(dag.test()) == {"submit_job": "success", "job_done": "success"}
