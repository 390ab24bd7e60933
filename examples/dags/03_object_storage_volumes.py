# Seed document, "Submit a Training Job > With Object Storage Volumes": a fragment (an import and
# `submit = ...`), kept verbatim inside the smallest DAG that runs it.
#
# expect: dag_run=success training_with_data=success jobs=DONE
# The test harness puts wine.csv into the container `my-training-data` behind the alias `my-data-alias`
# before the run, so the job finds its data at /workspace/data (read-only) and writes the model to
# `my-model-output` through the RW volume.
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

with DAG(
    dag_id="seed_object_storage_volumes",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    # ---- the document's block, verbatim ----
    from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id='training_with_data',
        image='pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime',
        name='training-with-volumes',
        command=['python', 'train.py', '--data-dir', '/workspace/data'],
        flavor='ai1-1-gpu',
        volumes=[
            OVHCloudAITrainingHook.build_volume(
                container='my-training-data',
                alias='my-data-alias',
                mount_path='/workspace/data',
                permission='RO',  # Read-only
            ),
            OVHCloudAITrainingHook.build_volume(
                container='my-model-output',
                alias='my-output-alias',
                mount_path='/workspace/output',
                permission='RW',  # Read-write
            ),
        ],
    )
