"""A training that fails, blocking and deferred: the submit fails with the job's details, cleanup runs."""

from datetime import datetime

from airflow.sdk import DAG

from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
    OVHCloudAITrainingDeleteJobOperator,
    OVHCloudAITrainingSubmitJobOperator,
)

for deferrable in (False, True):
    label = f"failing-{deferrable}".lower()
    with DAG(dag_id=f"provider_{label}", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        submit = OVHCloudAITrainingSubmitJobOperator(
            task_id="submit_job",
            image="pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime",
            command=["python", "-c", "print('diverged'); raise SystemExit(7)"],
            labels={"suite": label},
            wait_for_completion=True,
            check_interval=1,
            deferrable=deferrable,
        )
        delete = OVHCloudAITrainingDeleteJobOperator(
            task_id="delete_job",
            job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
            trigger_rule="all_done",
        )
        submit >> delete
    globals()[f"dag_{label.replace('-', '_')}"] = dag
