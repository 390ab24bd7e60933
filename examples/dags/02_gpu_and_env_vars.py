# Seed document, "Submit a Training Job > With GPU and Environment Variables": a fragment (`submit = ...`),
# kept verbatim inside the smallest DAG that runs it.
#
# expect: dag_run=success submit_gpu_training=success jobs=DONE
# The job runs examples/training/train.py (the emulator's files for the pytorch image) with EPOCHS=100,
# BATCH_SIZE=32 and LEARNING_RATE=0.001; with no data volume it trains on the copy shipped beside train.py.
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

with DAG(
    dag_id="seed_gpu_and_env_vars",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    # ---- the document's block, verbatim ----
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id='submit_gpu_training',
        image='pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime',
        name='gpu-training-job',
        command=['python', 'train.py'],
        flavor='ai1-1-gpu',
        gpu=1,
        gpu_model='V100S',
        env_vars={
            'EPOCHS': '100',
            'BATCH_SIZE': '32',
            'LEARNING_RATE': '0.001'
        },
    )
