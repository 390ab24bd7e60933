# Seed document, "Submit a Training Job > Wait for Completion": a fragment (`submit = ...`), kept verbatim
# inside the smallest DAG that runs it.
#
# expect: dag_run=success submit_and_wait=success jobs=DONE
# The task itself waits until the job is DONE (wait_for_completion=True).
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

with DAG(
    dag_id="seed_wait_for_completion",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    # ---- the document's block, verbatim ----
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id='submit_and_wait',
        image='pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime',
        name='training-job',
        command=['python', 'train.py'],
        flavor='ai1-1-gpu',
        wait_for_completion=True,  # Block until job completes
        check_interval=60,         # Check every 60 seconds
        wait_timeout=7200,         # Timeout after 2 hours
    )
