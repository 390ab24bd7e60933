"""
Import aliases Airflow's providers manager needs, nothing else.

Airflow treats a distribution named ``apache-airflow-...`` as one of its own providers and accepts only
classes under the matching module path (here ``airflow.provider.ovhcloud.ai``) when it registers hooks and
links. The user's document fixes both the distribution name and the import package
``apache_airflow_provider_ovhcloud_ai``, so the classes registered in ``get_provider_info`` are re-exported
here under the path Airflow checks; they are the very same objects.
"""
