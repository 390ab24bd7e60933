"""Settings read from Airflow's configuration: `[ovhcloud_ai]` in airflow.cfg, or AIRFLOW__OVHCLOUD_AI__*."""

from __future__ import annotations

import os


def max_check_interval() -> float | None:
    """
    ``[ovhcloud_ai] max_check_interval``: the longest pause between two reads of a job, whatever a DAG
    asks (``check_interval=60``, ``poke_interval=300``). Unset by default; set it to a second or two to run
    the document's DAGs against the local emulator without waiting minutes between polls.
    """
    raw = os.environ.get("AIRFLOW__OVHCLOUD_AI__MAX_CHECK_INTERVAL")
    if raw is None:
        try:
            from airflow.sdk import conf

            raw = conf.get("ovhcloud_ai", "max_check_interval", fallback=None)
        except Exception:
            return None
    if raw is None or not str(raw).strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value > 0 else None


def effective_check_interval(seconds: float) -> float:
    """``seconds``, capped by :func:`max_check_interval` when it is set."""
    cap = max_check_interval()
    return min(float(seconds), cap) if cap is not None else float(seconds)


def default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable``, the default of every ``deferrable`` parameter here."""
    try:
        from airflow.sdk import conf

        return bool(conf.getboolean("operators", "default_deferrable", fallback=False))
    except Exception:
        return False
