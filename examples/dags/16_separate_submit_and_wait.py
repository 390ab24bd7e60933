# Seed document, "Best Practices > 4. Separate Submit and Wait for Long Jobs": pseudo-code, not runnable as
# written. Its first call ends with a bare `...` after keyword arguments, which is a SyntaxError ("positional
# argument follows keyword argument"). The closest runnable form replaces that `...` with the one argument a
# job needs, written as the two best-practice blocks before it write it: `image='...'` (the emulator records
# an image it does not know; with no command the job logs that it has nothing to run and ends DONE).
# Everything else is verbatim, including `poke_interval=300`, which the wait takes as the document's name
# for `check_interval`.
#
# expect: dag_run=success submit_job=success wait_for_job=success jobs=DONE
# replaces: ...
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
    OVHCloudAITrainingSubmitJobOperator,
    OVHCloudAITrainingWaitForJobOperator,
)

with DAG(
    dag_id="seed_separate_submit_and_wait",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    # ---- the document's block; the bare `...` replaced by `image='...'` ----
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id='submit_job',
        wait_for_completion=False,  # Don't block
        image='...',
    )

    # Use a sensor or separate DAG run for monitoring
    wait = OVHCloudAITrainingWaitForJobOperator(
        task_id='wait_for_job',
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
        timeout=86400,  # 24 hours
        poke_interval=300,  # Check every 5 minutes
    )
    # ---- end of the document's block ----

    submit >> wait
