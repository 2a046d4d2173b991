"""Thin periodic tasks of the consent app."""

from celery import shared_task

from core.actors import SystemActor

from . import services


@shared_task(ignore_result=True)
def consents_expire_due() -> int:
    return services.consents_expire_due(actor=SystemActor("consent expiry"))


# --- privacy rights and retention: ids in, the services do the work, safe to run twice ----------
# (The services are imported when a task runs: consent.privacy publishes these tasks itself.)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def privacy_export_build(request_id: int) -> bool:
    from . import privacy

    return privacy.privacy_export_build(request_id=request_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def privacy_erase_run(request_id: int) -> bool:
    from . import privacy

    return privacy.privacy_erase_run(request_id=request_id)


@shared_task(ignore_result=True)
def privacy_requests_dispatch() -> int:
    """Periodic: publish the exports still to build and the erasures approved (a request whose
    publication was lost with the broker, or whose worker died). Each is claimed once."""
    from . import privacy

    tasks = {"privacy_export_build": privacy_export_build, "privacy_erase_run": privacy_erase_run}
    work = privacy.privacy_open_request_ids()
    for task_name, request_id in work:
        tasks[task_name].apply_async(args=[request_id])
    return len(work)


@shared_task(ignore_result=True)
def retention_apply() -> dict:
    from . import retention

    return retention.retention_apply(actor=None, dry_run=False)
