# Seed document, "Monitor Job Status > Get Job Details": a fragment (an import and `get_status = ...`), kept
# verbatim inside a DAG. Its job id comes from the XCom of a task `submit_job`, so the smallest upstream
# that gives one is added: a `submit_job` that starts the training job of the examples.
#
# expect: dag_run=success submit_job=success get_job_status=success jobs=DONE
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

with DAG(
    dag_id="seed_get_job_details",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    submit_job = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_job",
        image="pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime",
        command=["python", "train.py"],
    )

    # ---- the document's block, verbatim ----
    from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
        OVHCloudAITrainingGetJobOperator
    )

    get_status = OVHCloudAITrainingGetJobOperator(
        task_id='get_job_status',
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
    )
    # ---- end of the document's block ----

    submit_job >> get_status
