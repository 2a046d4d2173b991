"""Thin tasks of privacy rights and retention: ids in, the services do the work, safe to run twice."""

from celery import shared_task

from core.actors import SystemActor

from . import services
from .services.retention import retention_apply as _retention_apply


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def privacy_export_build(request_id: int) -> bool:
    return services.privacy_export_build(actor=SystemActor("data export"), request_id=request_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def privacy_erase_run(request_id: int) -> bool:
    return services.privacy_erase_run(actor=SystemActor("erasure"), request_id=request_id)


@shared_task(ignore_result=True)
def privacy_requests_dispatch() -> int:
    """Periodic: publish the exports still to build and the erasures approved (a request whose
    publication was lost with the broker, or whose worker died). Each is claimed once."""
    tasks = {"privacy_export_build": privacy_export_build, "privacy_erase_run": privacy_erase_run}
    work = services.privacy_open_request_ids()
    for task_name, request_id in work:
        tasks[task_name].apply_async(args=[request_id])
    return len(work)


@shared_task(ignore_result=True)
def retention_apply() -> dict:
    return _retention_apply(actor=SystemActor("retention"), dry_run=False)
