# Seed document, "Best Practices > 3. Use Trigger Rules for Cleanup": a fragment (`delete = ...`), kept
# verbatim inside a DAG. Its job id comes from the XCom of `submit_job`; the smallest upstream added is a
# `submit_job` whose job fails (exit code 3) and which waits for it, so the task fails and the cleanup shows
# what `trigger_rule='all_done'` is for: it still runs and deletes the failed job.
#
# expect: dag_run=success submit_job=failed cleanup_job=success jobs=none
# The DAG run counts as a success because Airflow judges a run by its leaf task, here cleanup_job.
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
    OVHCloudAITrainingDeleteJobOperator,
    OVHCloudAITrainingSubmitJobOperator,
)

with DAG(
    dag_id="seed_cleanup_trigger_rule",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    submit_job = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_job",
        image="pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime",
        command=["python", "-c", "import sys; print('bad input', file=sys.stderr); sys.exit(3)"],
        wait_for_completion=True,
        check_interval=1,
    )

    # ---- the document's block, verbatim ----
    delete = OVHCloudAITrainingDeleteJobOperator(
        task_id='cleanup_job',
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
        trigger_rule='all_done',  # Always run, even on failure
    )
    # ---- end of the document's block ----

    submit_job >> delete
