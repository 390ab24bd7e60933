"""Builders and the checks made before a job is sent."""

from __future__ import annotations

import pytest

from apache_airflow_provider_ovhcloud_ai import job_spec
from apache_airflow_provider_ovhcloud_ai.exceptions import JobSpecError
from apache_airflow_provider_ovhcloud_ai.hooks.ai_training import OVHCloudAITrainingHook


def test_build_volume_gives_the_published_form_with_the_documents_defaults() -> None:
    volume = OVHCloudAITrainingHook.build_volume(
        container="my-bucket", alias="my-data-alias", mount_path="/workspace/data"
    )
    assert volume == {
        "dataStore": {"alias": "my-data-alias", "container": "my-bucket"},
        "mountPath": "/workspace/data",
        "permission": "RO",
        "cache": False,
    }


def test_build_volume_keeps_prefix_and_cache() -> None:
    volume = OVHCloudAITrainingHook.build_volume(
        container="b", alias="a", mount_path="/w/d", prefix="datasets/v1", permission="rwd", cache=True
    )
    assert volume["dataStore"]["prefix"] == "datasets/v1"
    assert volume["permission"] == "RWD"
    assert volume["cache"] is True


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mount_path": "relative/path"}, "mount_path"),
        ({"permission": "RX"}, "permission"),
        ({"container": ""}, "container"),
    ],
)
def test_build_volume_refuses_bad_input_naming_the_field(kwargs: dict[str, str], field: str) -> None:
    args = {"container": "c", "alias": "a", "mount_path": "/data", **kwargs}
    with pytest.raises(JobSpecError, match=field):
        OVHCloudAITrainingHook.build_volume(**args)


def test_build_env_vars_gives_name_value_pairs_as_strings() -> None:
    assert OVHCloudAITrainingHook.build_env_vars({"EPOCHS": "100", "BATCH": 32}) == [
        {"name": "EPOCHS", "value": "100"},
        {"name": "BATCH", "value": "32"},
    ]


def test_build_env_vars_refuses_a_bad_name() -> None:
    with pytest.raises(JobSpecError, match="env_vars"):
        OVHCloudAITrainingHook.build_env_vars({"1BAD": "x"})


def test_env_vars_accept_a_dict_or_the_built_list_alike() -> None:
    as_dict = job_spec.build_job_spec(image="i", env_vars={"A": "1"})
    as_list = job_spec.build_job_spec(image="i", env_vars=[{"name": "A", "value": "1"}])
    assert as_dict["envVars"] == as_list["envVars"] == [{"name": "A", "value": "1"}]


def test_job_spec_maps_every_parameter_to_its_wire_name() -> None:
    spec = job_spec.build_job_spec(
        image="img",
        name="n",
        command=["python", "train.py"],
        flavor="ai1-1-gpu",
        gpu=2,
        gpu_model="V100S",
        volumes=[job_spec.build_volume("c", "a", "/d")],
        labels={"team": "ml"},
        ssh_public_keys=["ssh-ed25519 AAAA"],
        default_http_port=8080,
        timeout=600,
        unsecure_http=True,
    )
    assert spec["resources"] == {"flavor": "ai1-1-gpu", "gpu": 2, "gpuModel": "V100S"}
    assert spec["sshPublicKeys"] == ["ssh-ed25519 AAAA"]
    assert spec["defaultHttpPort"] == 8080
    assert spec["timeout"] == 600
    assert spec["unsecureHttp"] is True
    assert spec["labels"] == {"team": "ml"}


def test_gpu_zero_is_not_sent() -> None:
    assert "resources" not in job_spec.build_job_spec(image="i", gpu=0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"image": ""}, "image"),
        ({"labels": {"ovh/owner": "x"}}, "labels"),
        ({"timeout": 0}, "job_timeout"),
        ({"timeout": "soon"}, "job_timeout"),
        ({"command": "python train.py"}, "command"),
        ({"gpu": -1}, "gpu"),
        ({"default_http_port": 70000}, "default_http_port"),
    ],
)
def test_job_spec_refuses_bad_input_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"image": "img", **kwargs}
    with pytest.raises(JobSpecError, match=field):
        job_spec.build_job_spec(**args)  # type: ignore[arg-type]


def test_two_volumes_on_one_mount_path_are_refused() -> None:
    volume = job_spec.build_volume("c", "a", "/data")
    with pytest.raises(JobSpecError, match="mount path /data"):
        job_spec.build_job_spec(image="i", volumes=[volume, volume])


def test_label_values_are_selector_safe_and_readable() -> None:
    a = job_spec.sanitize_label_value("manual__2024-01-01T00:00:00+00:00")
    assert a == "manual__2024-01-01T00.00.00_00.00"
    b = job_spec.sanitize_label_value("manual__2024-01-01T00-00-00-00-00")
    assert a != b and b == "manual__2024-01-01T00-00-00-00-00"
    assert all(c.isalnum() or c in "._-" for c in a)
    assert job_spec.sanitize_label_value("scheduled__2024-05-01T10:30:00.123456+00:00") == (
        "scheduled__2024-05-01T10.30.00.123456_00.00"
    )
    assert job_spec.sanitize_label_value("plain-value") == "plain-value"


def test_long_label_values_are_cut_and_stay_distinct() -> None:
    a = job_spec.sanitize_label_value("x" * 300)
    b = job_spec.sanitize_label_value("x" * 299 + "y")
    assert len(a) <= job_spec.LABEL_VALUE_MAX and len(b) <= job_spec.LABEL_VALUE_MAX
    assert a != b and a.startswith("x" * 40)


def test_identity_labels_read_as_the_task_instance() -> None:
    labels = job_spec.identity_labels("my_dag", "submit_job", "manual__2024-01-01T00:00:00+00:00", -1)
    assert labels == {
        "airflow-dag-id": "my_dag",
        "airflow-task-id": "submit_job",
        "airflow-run-id": "manual__2024-01-01T00.00.00_00.00",
        "airflow-map-index": "none",
    }
    assert job_spec.identity_labels("d", "t", "r", 3)["airflow-map-index"] == "3"
    assert job_spec.identity_labels("d", "t", "r", None)["airflow-map-index"] == "none"


def test_identity_labels_never_use_the_platform_prefix() -> None:
    labels = job_spec.identity_labels("dag", "task", "run", None)
    assert set(labels) == set(job_spec.IDENTITY_LABEL_KEYS)
    assert not any(k.startswith("ovh/") for k in labels)
