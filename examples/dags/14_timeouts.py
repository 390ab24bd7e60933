# Seed document, "Best Practices > 2. Set Appropriate Timeouts": a fragment (`submit = ...`), kept verbatim
# inside the smallest DAG that runs it. `image='...'` is kept too: the emulator records an image it does not
# know, and a job with no command on such an image logs that it has nothing to run and ends DONE.
#
# expect: dag_run=success submit_job=success jobs=DONE
from datetime import datetime

from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

with DAG(
    dag_id="seed_timeouts",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["seed-example"],
) as dag:
    # ---- the document's block, verbatim ----
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id='submit_job',
        image='...',
        job_timeout=14400,       # Job timeout: 4 hours
        wait_for_completion=True,
        wait_timeout=16000,      # Airflow wait timeout: slightly longer
    )
