"""Alias of :mod:`apache_airflow_provider_ovhcloud_ai.hooks.ai_training` for Airflow's providers manager."""

from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

__all__ = ["OVHCloudAITrainingHook"]
