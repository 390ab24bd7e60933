"""See :mod:`airflow.provider`: aliases of apache_airflow_provider_ovhcloud_ai classes."""
