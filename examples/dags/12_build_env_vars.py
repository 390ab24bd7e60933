# Seed document, "Helper Methods > Build Environment Variables": a fragment that only builds env vars, kept
# verbatim at the top of a DAG file. Its comment states what it returns; the smallest DAG that proves it
# checks that value in a task, then passes the env vars to a job (through the hook, which takes this list
# form, as the document's "Using the Hook Directly" example does).
#
# expect: dag_run=success check_env_vars=success jobs=DONE
from datetime import datetime

from airflow import DAG
from airflow.providers.standard.operators.python import PythonOperator

# ---- the document's block, verbatim ----
from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

env_vars = OVHCloudAITrainingHook.build_env_vars({
    'EPOCHS': '100',
    'BATCH_SIZE': '32',
    'LEARNING_RATE': '0.001',
})
# Returns: [{"name": "EPOCHS", "value": "100"}, ...]
# ---- end of the document's block ----


def check_env_vars() -> str:
    expected = [
        {"name": "EPOCHS", "value": "100"},
        {"name": "BATCH_SIZE", "value": "32"},
        {"name": "LEARNING_RATE", "value": "0.001"},
    ]
    if env_vars != expected:
        raise ValueError(f"build_env_vars returned {env_vars!r}, the document says {expected!r}")
    job = OVHCloudAITrainingHook().submit_job(
        image="pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime",
        command=["python", "train.py"],
        env_vars=env_vars,
    )
    return job["id"]


with DAG(
    dag_id="seed_build_env_vars",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    PythonOperator(task_id="check_env_vars", python_callable=check_env_vars)
