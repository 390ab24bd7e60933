"""See :mod:`airflow.provider`."""
