# Seed document, "Submit a Training Job > Basic Example": the block exactly as written.
#
# expect: dag_run=success submit_training=success jobs=DONE
# The operator only submits (wait_for_completion defaults to False); the job prints one line and ends DONE.
from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
    OVHCloudAITrainingSubmitJobOperator
)
from datetime import datetime

with DAG(
    dag_id='simple_training_job',
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
) as dag:
    
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id='submit_training',
        image='pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime',
        name='my-training-job',
        command=['python', '-c', 'print("Hello from AI Training!")'],
        flavor='ai1-1-gpu',
    )
