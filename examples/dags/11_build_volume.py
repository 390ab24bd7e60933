# Seed document, "Helper Methods > Build Volume Configuration": a fragment that only builds a volume, kept
# verbatim at the top of a DAG file. The smallest DAG that uses it submits a job with that volume and waits,
# which exercises `prefix` and `cache` for real.
#
# expect: dag_run=success submit_with_volume=success jobs=DONE
# The harness puts wine.csv under the prefix `datasets/v1/` of the container `my-bucket` behind
# `my-data-alias`, so train.py finds /workspace/data/wine.csv.
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

# ---- the document's block, verbatim ----
from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

volume = OVHCloudAITrainingHook.build_volume(
    container='my-bucket',           # Object Storage container name
    alias='my-data-alias',           # Data store alias
    mount_path='/workspace/data',    # Mount path in container
    prefix='datasets/v1',            # Optional: subfolder in container
    permission='RO',                 # RO, RW, or RWD
    cache=True,                      # Enable caching
)
# ---- end of the document's block ----

with DAG(
    dag_id="seed_build_volume",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_with_volume",
        image="pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime",
        command=["python", "train.py"],
        volumes=[volume],
        wait_for_completion=True,
        check_interval=1,
    )
