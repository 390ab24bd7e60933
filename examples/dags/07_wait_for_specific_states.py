# Seed document, "Monitor Job Status > Wait for Specific States": a fragment (an import and
# `wait_running = ...`), kept verbatim inside a DAG. The smallest upstream that gives it a job to watch is
# added: a `submit_job` whose job keeps running (an interactive job would), and, because that job would
# otherwise run on, a stop with trigger_rule='all_done' that ends it whatever the wait did.
#
# expect: dag_run=success submit_job=success wait_until_running=success stop_job=success jobs=INTERRUPTED
# A wait for RUNNING must not see the job end first: a job already final in another state fails the wait at
# once, which is why the upstream job sleeps instead of training.
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
    OVHCloudAITrainingStopJobOperator,
    OVHCloudAITrainingSubmitJobOperator,
)

with DAG(
    dag_id="seed_wait_for_specific_states",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    submit_job = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_job",
        image="pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime",
        command=["python", "-c", "import time; print('serving', flush=True); time.sleep(600)"],
        job_timeout=900,
    )

    # ---- the document's block, verbatim ----
    from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
        OVHCloudAITrainingWaitForJobOperator
    )

    # Wait for job to be running (useful for interactive jobs)
    wait_running = OVHCloudAITrainingWaitForJobOperator(
        task_id='wait_until_running',
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
        target_states=['RUNNING'],
        check_interval=30,
        timeout=600,
    )
    # ---- end of the document's block ----

    stop_job = OVHCloudAITrainingStopJobOperator(
        task_id="stop_job",
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
        trigger_rule="all_done",
    )

    submit_job >> wait_running >> stop_job
