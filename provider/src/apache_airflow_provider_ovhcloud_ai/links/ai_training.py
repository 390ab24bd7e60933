"""The operator extra link to the job a task submitted or watched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

#: Operator attribute where the operators keep the job's link once they know the job.
JOB_LINK_ATTRIBUTE = "ovh_job_link"


def job_link(job: dict[str, Any], base_url: str) -> str:
    """
    Where a user sees the job: the platform's info page when the job carries one, else the job in the API.
    """
    status = job.get("status") or {}
    info_url = status.get("infoUrl") or status.get("monitoringUrl")
    if info_url:
        return str(info_url)
    return f"{base_url.rstrip('/')}/v1/job/{job.get('id', '')}"


class OVHCloudAITrainingJobLink(BaseOperatorLink):
    """
    "AI Training job" button on the task. Airflow 3 asks for the link on the worker when the task ends
    and stores it, so the operator's attribute set during ``execute`` is what the UI shows.
    """

    name = "AI Training job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The link the operator recorded, or an empty string when it never knew a job."""
        return str(getattr(operator, JOB_LINK_ATTRIBUTE, "") or "")
