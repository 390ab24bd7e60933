# Seed document, "Using the Hook Directly": the block as written but for one line. Its last statement is
# `with DAG(...) as dag:`, where `...` stands for the DAG's arguments (as written, Airflow would get the
# Ellipsis object as the dag_id and refuse it), so that line gets the arguments every other example uses,
# and the `DAG` and `datetime` imports it needs. Everything else is verbatim.
#
# expect: dag_run=success custom_training=success jobs=DONE
# replaces: with DAG(...) as dag:
# `region='gra'` picks the region; the connection's host (set to the emulator by the harness) still decides
# where the requests go, as the provider documents for endpoint overrides.
from datetime import datetime

from airflow import DAG

# ---- the document's block, verbatim but for `with DAG(...)` ----
from airflow.operators.python import PythonOperator
from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

def custom_training_logic(**context):
    hook = OVHCloudAITrainingHook(
        ovh_conn_id='ovh_ai_training_default',
        region='gra',
    )
    
    # Submit a job
    job = hook.submit_job(
        image='pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime',
        name='custom-job',
        command=['python', 'train.py'],
        flavor='ai1-1-gpu',
        env_vars=OVHCloudAITrainingHook.build_env_vars({
            'EPOCHS': '100',
        }),
    )
    
    job_id = job['id']
    print(f"Job submitted: {job_id}")
    
    # Wait for completion
    final_job = hook.wait_for_job(
        job_id=job_id,
        target_states=['DONE'],
        check_interval=60,
        timeout=7200,
    )
    
    # Get logs
    logs = hook.get_job_logs(job_id, tail=100)
    print(logs)
    
    return final_job

with DAG(dag_id="seed_hook_directly", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as dag:
    task = PythonOperator(
        task_id='custom_training',
        python_callable=custom_training_logic,
    )
