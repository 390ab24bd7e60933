# Seed document, "Complete Workflow Example": the block exactly as written. `npm run demo` runs this file.
#
# expect: dag_run=success submit_job=success wait_for_completion=success get_logs=success delete_job=success jobs=none
# expect-output: output-alias/model-output/metrics.json output-alias/model-output/model.json
# expect-metric: output-alias/model-output/metrics.json held_out_accuracy>=0.9
# The harness (npm test, npm run demo) puts wine.csv into `training-data` behind `data-alias`; train.py trains
# on it for EPOCHS=50 and writes the model and its metrics through the RW volume into `model-output`.
# delete_job removes the job from the API at the end (jobs=none); its output stays in the container.
from airflow import DAG
from apache_airflow_provider_ovhcloud_ai.operators.ai_training import (
    OVHCloudAITrainingSubmitJobOperator,
    OVHCloudAITrainingWaitForJobOperator,
    OVHCloudAITrainingGetLogsOperator,
    OVHCloudAITrainingDeleteJobOperator,
)
from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook
from datetime import datetime

with DAG(
    dag_id='complete_training_workflow',
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=['ovhcloud', 'training'],
) as dag:
    
    # Submit the training job
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id='submit_job',
        image='pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime',
        name='my-training-{{ ds_nodash }}',
        command=['python', 'train.py'],
        flavor='ai1-1-gpu',
        env_vars={
            'EPOCHS': '50',
            'MODEL_NAME': 'resnet50',
        },
        volumes=[
            OVHCloudAITrainingHook.build_volume(
                container='training-data',
                alias='data-alias',
                mount_path='/workspace/data',
                permission='RO',
            ),
            OVHCloudAITrainingHook.build_volume(
                container='model-output',
                alias='output-alias',
                mount_path='/workspace/output',
                permission='RW',
            ),
        ],
        labels={'project': 'ml-pipeline', 'env': 'production'},
    )
    
    # Wait for the job to complete
    wait = OVHCloudAITrainingWaitForJobOperator(
        task_id='wait_for_completion',
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
        target_states=['DONE'],
        failure_states=['FAILED', 'ERROR', 'INTERRUPTED'],
        check_interval=60,
        timeout=14400,  # 4 hours
    )
    
    # Get the logs
    logs = OVHCloudAITrainingGetLogsOperator(
        task_id='get_logs',
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
        tail=500,
    )
    
    # Clean up the job
    delete = OVHCloudAITrainingDeleteJobOperator(
        task_id='delete_job',
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
        trigger_rule='all_done',  # Run even if previous tasks failed
    )
    
    submit >> wait >> logs >> delete
