"""
Building and checking the body of a job submission, before anything is sent.

Kept free of HTTP and of Airflow's runtime so the operators module can import it cheaply and tests can
read the rules on their own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from apache_airflow_provider_ovhcloud_ai.exceptions import JobSpecError

PERMISSIONS: tuple[str, ...] = ("RO", "RW", "RWD")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Label values are kept short and selector-safe (no ',' or '='), like Kubernetes label values.
LABEL_VALUE_MAX = 63

#: Labels the Submit operator adds so a retried task finds the job its earlier try submitted.
#: Keys under ``ovh/`` belong to the platform, hence the ``airflow-`` prefix.
IDENTITY_LABEL_KEYS: tuple[str, ...] = (
    "airflow-dag-id",
    "airflow-task-id",
    "airflow-run-id",
    "airflow-map-index",
)


def build_volume(
    container: str,
    alias: str,
    mount_path: str,
    prefix: str | None = None,
    permission: str = "RO",
    cache: bool = False,
) -> dict[str, Any]:
    """
    A volume backed by an Object Storage container behind a data store alias, in the published form.

    :param container: Object Storage container name.
    :param alias: data store alias (e.g. ``GRA``).
    :param mount_path: absolute path inside the job.
    :param prefix: optional folder inside the container; only objects under it are synchronised.
    :param permission: ``RO``, ``RW`` or ``RWD``.
    :param cache: keep and reuse the volume in later jobs.
    """
    if not container:
        raise JobSpecError("volume container", "it is empty; give the Object Storage container name")
    if not alias:
        raise JobSpecError("volume alias", "it is empty; give the data store alias (e.g. GRA)")
    _check_mount_path(mount_path)
    permission = _check_permission(permission)
    data_store: dict[str, Any] = {"alias": alias, "container": container}
    if prefix:
        data_store["prefix"] = prefix
    return {"dataStore": data_store, "mountPath": mount_path, "permission": permission, "cache": bool(cache)}


def build_env_vars(env: Mapping[str, Any]) -> list[dict[str, str]]:
    """``{"EPOCHS": 100}`` as the API wants it: ``[{"name": "EPOCHS", "value": "100"}]`` (values as text)."""
    result = []
    for name, value in env.items():
        _check_env_name(str(name))
        result.append({"name": str(name), "value": "" if value is None else str(value)})
    return result


def normalize_env_vars(
    env_vars: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
) -> list[dict[str, str]]:
    """Accepts a dict or the list :func:`build_env_vars` makes; answers the list, checked."""
    if env_vars is None:
        return []
    if isinstance(env_vars, Mapping):
        return build_env_vars(env_vars)
    result = []
    for item in env_vars:
        if not isinstance(item, Mapping) or "name" not in item:
            raise JobSpecError("env_vars", f"{item!r} is not a {{'name': ..., 'value': ...}} entry")
        _check_env_name(str(item["name"]))
        value = item.get("value")
        result.append({"name": str(item["name"]), "value": "" if value is None else str(value)})
    return result


def build_job_spec(
    *,
    image: str,
    name: str | None = None,
    command: Sequence[str] | str | None = None,
    env_vars: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    flavor: str | None = None,
    gpu: int | None = 0,
    gpu_model: str | None = None,
    cpu: int | None = None,
    volumes: Sequence[Mapping[str, Any]] | None = None,
    labels: Mapping[str, Any] | None = None,
    ssh_public_keys: Sequence[str] | None = None,
    default_http_port: int | None = None,
    timeout: int | None = None,
    unsecure_http: bool = False,
) -> dict[str, Any]:
    """
    The JobSpec body of ``POST /v1/job``, checked field by field; raises :class:`JobSpecError` naming the
    field and what is allowed, so a bad job is refused before any request.
    """
    if not image or not str(image).strip():
        raise JobSpecError("image", "it is required; give a Docker image such as pytorch/pytorch:latest")
    spec: dict[str, Any] = {"image": str(image).strip()}
    if name:
        spec["name"] = str(name)
    if command is not None:
        if isinstance(command, str):
            raise JobSpecError("command", "give a list of strings, e.g. ['python', 'train.py']")
        spec["command"] = [str(part) for part in command]
    env = normalize_env_vars(env_vars)
    if env:
        spec["envVars"] = env
    resources: dict[str, Any] = {}
    if flavor:
        resources["flavor"] = str(flavor)
    gpu_count = _optional_count("gpu", gpu)
    cpu_count = _optional_count("cpu", cpu)
    # gpu=0 is the document's default and means "not asked": the platform then gives one unit of the flavor.
    if gpu_count:
        resources["gpu"] = gpu_count
    if cpu_count:
        resources["cpu"] = cpu_count
    if gpu_model:
        resources["gpuModel"] = str(gpu_model)
    if resources:
        spec["resources"] = resources
    if volumes:
        spec["volumes"] = _check_volumes(volumes)
    if labels:
        spec["labels"] = _check_labels(labels)
    if ssh_public_keys:
        spec["sshPublicKeys"] = [str(k) for k in ssh_public_keys]
    if default_http_port is not None:
        port = _as_int("default_http_port", default_http_port)
        if not 1 <= port <= 65535:
            raise JobSpecError("default_http_port", f"{port} is not a port; use 1 to 65535")
        spec["defaultHttpPort"] = port
    if timeout is not None:
        seconds = _as_int("job_timeout", timeout)
        if seconds <= 0:
            raise JobSpecError("job_timeout", f"{timeout!r} is not a positive number of seconds")
        spec["timeout"] = seconds
    if unsecure_http:
        spec["unsecureHttp"] = True
    return spec


def sanitize_label_value(value: str) -> str:
    """
    ``value`` made safe for a label and a ``labelSelector``, as readable as those rules allow: ``:`` becomes
    ``.`` (a run id's time ``00:00:00`` reads ``00.00.00``), any other run of characters outside
    ``[A-Za-z0-9._-]`` becomes ``_``, and the value starts and ends with a letter or digit. A value longer
    than 63 characters is cut and ends with a short hash of the original, so two long run ids stay apart.
    Two values differing only in the characters replaced (``a:b`` and ``a.b``) share a label value; Airflow's
    own run ids do not differ that way.
    """
    safe = _LABEL_SAFE.sub("_", value.replace(":", ".")).strip("-._") or "x"
    if len(safe) <= LABEL_VALUE_MAX:
        return safe
    digest = hashlib.sha256(value.encode()).hexdigest()[:10]
    return f"{safe[: LABEL_VALUE_MAX - 11].rstrip('-._')}-{digest}"


#: The ``airflow-map-index`` value of a task that is not mapped (Airflow's map index -1).
UNMAPPED = "none"


def identity_labels(dag_id: str, task_id: str, run_id: str, map_index: int | None = None) -> dict[str, str]:
    """
    The labels that tie a job to one Airflow task instance (not its try). The map index is ``none`` for a
    task that is not mapped, else its number.
    """
    index = -1 if map_index is None else int(map_index)
    values = (dag_id, task_id, run_id, UNMAPPED if index < 0 else str(index))
    return {key: sanitize_label_value(str(v)) for key, v in zip(IDENTITY_LABEL_KEYS, values, strict=True)}


def label_selector(labels: Mapping[str, str]) -> str:
    """``key=value,key2=value2`` as the list endpoint's ``labelSelector`` wants it."""
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _check_mount_path(mount_path: str) -> None:
    if not mount_path or not str(mount_path).startswith("/") or str(mount_path) == "/":
        raise JobSpecError(
            "volume mount_path", f"{mount_path!r} must be an absolute path such as /workspace/data"
        )


def _check_permission(permission: str) -> str:
    value = str(permission).upper()
    if value not in PERMISSIONS:
        raise JobSpecError("volume permission", f"{permission!r} is not one of {', '.join(PERMISSIONS)}")
    return value


def _check_env_name(name: str) -> None:
    if not _ENV_NAME.match(name):
        raise JobSpecError(
            "env_vars",
            f"{name!r} is not a valid variable name (letters, digits, '_', not starting with a digit)",
        )


def _check_volumes(volumes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    result = []
    for volume in volumes:
        if not isinstance(volume, Mapping):
            raise JobSpecError("volumes", f"{volume!r} is not a volume; build one with build_volume()")
        mount_path = str(volume.get("mountPath", ""))
        _check_mount_path(mount_path)
        if mount_path in seen:
            raise JobSpecError("volumes", f"two volumes share the mount path {mount_path}; give each its own")
        seen.add(mount_path)
        checked = dict(volume)
        if "permission" in checked:
            checked["permission"] = _check_permission(str(checked["permission"]))
        result.append(checked)
    return result


def _check_labels(labels: Mapping[str, Any]) -> dict[str, str]:
    result = {}
    for key, value in labels.items():
        if str(key).startswith("ovh/"):
            raise JobSpecError("labels", f"key {key!r} starts with 'ovh/', which belongs to the platform")
        if not str(key):
            raise JobSpecError("labels", "a label key is empty")
        result[str(key)] = "" if value is None else str(value)
    return result


def _as_int(field: str, value: Any) -> int:
    if isinstance(value, bool):
        raise JobSpecError(field, f"{value!r} is not an integer")
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise JobSpecError(field, f"{value!r} is not an integer") from None
    if isinstance(value, float) and value != number:
        raise JobSpecError(field, f"{value!r} is not a whole number")
    return number


def _optional_count(field: str, value: Any) -> int:
    if value is None or value == "":
        return 0
    count = _as_int(field, value)
    if count < 0:
        raise JobSpecError(field, f"{count} is negative; give 0 or more")
    return count
