"""Alias of :mod:`apache_airflow_provider_ovhcloud_ai.links.ai_training` for Airflow's providers manager."""

from apache_airflow_provider_ovhcloud_ai.links.ai_training import OVHCloudAITrainingJobLink

__all__ = ["OVHCloudAITrainingJobLink"]
