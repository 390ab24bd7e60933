"""Apache Airflow provider for OVHcloud AI Training jobs."""

from __future__ import annotations

__version__ = "0.1.0"
