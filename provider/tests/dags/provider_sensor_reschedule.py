"""Submit without waiting, then a sensor in reschedule mode frees its worker slot between pokes."""

from datetime import datetime

from airflow.sdk import DAG

from apache_airflow_provider_ovhcloud_ai.operators.ai_training import OVHCloudAITrainingSubmitJobOperator
from apache_airflow_provider_ovhcloud_ai.sensors.ai_training import OVHCloudAITrainingJobSensor

with DAG(dag_id="provider_sensor_reschedule", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_job", image="pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime", command=["sleep", "3"]
    )
    sense = OVHCloudAITrainingJobSensor(
        task_id="job_done",
        job_id='{{ ti.xcom_pull(task_ids="submit_job")["id"] }}',
        mode="reschedule",
        poke_interval=1,
        timeout=120,
    )
    submit >> sense
