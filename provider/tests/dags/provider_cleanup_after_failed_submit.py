"""A submit that fails before any job exists; the all_done cleanup must still succeed."""

from datetime import datetime

from airflow.sdk import DAG

from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
    OVHCloudAITrainingDeleteJobOperator,
    OVHCloudAITrainingSubmitJobOperator,
)

with DAG(
    dag_id="provider_cleanup_after_failed_submit", start_date=datetime(2024, 1, 1), schedule=None
) as dag:
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_job", image="pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime", flavor="no-such-flavor"
    )
    delete = OVHCloudAITrainingDeleteJobOperator(
        task_id="cleanup_job",
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
        trigger_rule="all_done",
    )
    submit >> delete
