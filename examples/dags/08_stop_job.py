# Seed document, "Stop and Delete Jobs > Stop a Running Job": a fragment (an import and `stop = ...`), kept
# verbatim inside a DAG. The smallest upstream that gives it a running job is added: a `submit_job` whose
# job would run for ten minutes.
#
# expect: dag_run=success submit_job=success stop_job=success jobs=INTERRUPTED
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

with DAG(
    dag_id="seed_stop_job",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    submit_job = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_job",
        image="pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime",
        command=["python", "-c", "import time; time.sleep(600)"],
        job_timeout=900,
    )

    # ---- the document's block, verbatim ----
    from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
        OVHCloudAITrainingStopJobOperator
    )

    stop = OVHCloudAITrainingStopJobOperator(
        task_id='stop_job',
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
    )
    # ---- end of the document's block ----

    submit_job >> stop
