"""What Airflow learns about this provider through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

_PKG = "apache_airflow_provider_ovhcloud_ai"
_INTEGRATION = "OVHcloud AI Training"
# Airflow registers classes of an ``apache-airflow-*`` distribution only under the matching module path;
# see the airflow.provider package of this distribution.
_ALIAS = "airflow.provider.ovhcloud.ai"


def get_provider_info() -> dict[str, Any]:
    """The provider's hooks, operators, sensor, trigger, extra link and connection type."""
    return {
        "package-name": "apache-airflow-provider-ovhcloud-ai",
        "name": "OVHcloud AI Training",
        "description": "Submit, watch, stop and clean up OVHcloud AI Training jobs from Airflow.",
        "versions": ["0.1.0"],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://help.ovhcloud.com/csm/en-gb-documentation-public-cloud-ai-and-machine-learning-ai-training",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": [f"{_PKG}.hooks.ai_training"]}],
        "operators": [
            {"integration-name": _INTEGRATION, "python-modules": [f"{_PKG}.operators.ai_training"]}
        ],
        "sensors": [{"integration-name": _INTEGRATION, "python-modules": [f"{_PKG}.sensors.ai_training"]}],
        "triggers": [{"integration-name": _INTEGRATION, "python-modules": [f"{_PKG}.triggers.ai_training"]}],
        "extra-links": [f"{_ALIAS}.links.ai_training.OVHCloudAITrainingJobLink"],
        "connection-types": [
            {
                "hook-class-name": f"{_ALIAS}.hooks.ai_training.OVHCloudAITrainingHook",
                "hook-name": "OVHcloud AI Training",
                "connection-type": "ovhcloud_ai_training",
                "conn-fields": {
                    "endpoint": {
                        "label": "Endpoint",
                        "description": "Base URL that replaces the region's (an emulator, a proxy); optional",
                        "schema": {"type": ["string", "null"]},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra", "host"],
                    "relabeling": {"login": "Region", "password": "AI token"},
                    "placeholders": {
                        "login": "gra or bhs",
                        "password": "your AI Training token",
                    },
                },
            }
        ],
    }
