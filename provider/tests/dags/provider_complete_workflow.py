"""Submit, wait, read logs, clean up: the document's complete workflow on the emulator's test image."""

from datetime import datetime

from airflow.sdk import DAG

from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
    OVHCloudAITrainingDeleteJobOperator,
    OVHCloudAITrainingGetLogsOperator,
    OVHCloudAITrainingSubmitJobOperator,
    OVHCloudAITrainingWaitForJobOperator,
)

IMAGE = "pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime"
JOB_ID = '{{ ti.xcom_pull(task_ids="submit_job")["id"] }}'

with DAG(dag_id="provider_complete_workflow", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_job",
        image=IMAGE,
        name="my-training-{{ ds_nodash }}",
        command=["python", "train.py"],
        env_vars={"EPOCHS": "50"},
        volumes=[
            OVHCloudAITrainingHook.build_volume(
                container="training-data", alias="data-alias", mount_path="/workspace/data"
            )
        ],
        labels={"suite": "dag-test", "run_id": "{{ run_id }}"},
    )
    wait = OVHCloudAITrainingWaitForJobOperator(
        task_id="wait_for_completion", job_id=JOB_ID, check_interval=1
    )
    logs = OVHCloudAITrainingGetLogsOperator(task_id="get_logs", job_id=JOB_ID, tail=500)
    delete = OVHCloudAITrainingDeleteJobOperator(task_id="delete_job", job_id=JOB_ID, trigger_rule="all_done")
    submit >> wait >> logs >> delete
