"""Airflow finds the provider through its entry point, and everything it lists imports."""

from __future__ import annotations

import importlib
import json
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema

from apache_airflow_provider_ovhcloud_ai.get_provider_info import get_provider_info


def test_entry_point_leads_to_get_provider_info() -> None:
    found = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.value.startswith("apache_airflow_provider_ovhcloud_ai")
    ]
    assert len(found) == 1
    assert found[0].load()() == get_provider_info()


def test_provider_info_satisfies_airflows_schema() -> None:
    import airflow

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_every_listed_module_and_class_imports() -> None:
    info = get_provider_info()
    modules = [
        m for key in ("hooks", "operators", "sensors", "triggers") for m in info[key][0]["python-modules"]
    ]
    for name in modules:
        importlib.import_module(name)
    classes = [*info["extra-links"], info["connection-types"][0]["hook-class-name"]]
    for path in classes:
        module, _, cls = path.rpartition(".")
        assert hasattr(importlib.import_module(module), cls), path


def test_connection_type_matches_the_hook() -> None:
    from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook

    conn = get_provider_info()["connection-types"][0]
    assert conn["connection-type"] == OVHCloudAITrainingHook.conn_type
    assert conn["ui-field-behaviour"]["relabeling"] == {"login": "Region", "password": "AI token"}
    assert "endpoint" in conn["conn-fields"]


def test_operators_module_does_not_import_the_hook_or_the_trigger_when_parsed() -> None:
    import subprocess
    import sys

    code = (
        "import sys, apache_airflow_provider_ovhcloud_ai.operators.ai_training as m;"
        "p = 'apache_airflow_provider_ovhcloud_ai.';"
        "print(sorted(n for n in (p + 'hooks.ai_training', p + 'triggers.ai_training') if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_airflows_providers_manager_offers_the_connection_form() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "apache-airflow-provider-ovhcloud-ai" in manager.providers
    assert "extra__ovhcloud_ai_training__endpoint" in manager.connection_form_widgets
    behaviour = manager.field_behaviours["ovhcloud_ai_training"]
    assert behaviour["relabeling"] == {"login": "Region", "password": "AI token"}
    hook_info = manager.hooks["ovhcloud_ai_training"]
    assert hook_info is not None and hook_info.hook_class_name.endswith("OVHCloudAITrainingHook")
