# Seed document, "Stop and Delete Jobs > Delete a Job": a fragment (an import and `delete = ...`), kept
# verbatim inside a DAG. The smallest upstream that gives it a job to delete is added: a `submit_job` that
# waits for its job to end, so the delete removes a finished job (the operator's default force=True would
# otherwise stop a running one first, which the "Stop a Running Job" example already shows).
#
# expect: dag_run=success submit_job=success delete_job=success jobs=none
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

with DAG(
    dag_id="seed_delete_job",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    submit_job = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_job",
        image="pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime",
        command=["python", "train.py"],
        wait_for_completion=True,
        check_interval=1,
    )

    # ---- the document's block, verbatim ----
    from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
        OVHCloudAITrainingDeleteJobOperator
    )

    delete = OVHCloudAITrainingDeleteJobOperator(
        task_id='delete_job',
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
    )
    # ---- end of the document's block ----

    submit_job >> delete
