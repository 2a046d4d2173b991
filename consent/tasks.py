"""Thin periodic tasks of the consent app."""

from celery import shared_task

from core.actors import SystemActor

from . import services


@shared_task(ignore_result=True)
def consents_expire_due() -> int:
    return services.consents_expire_due(actor=SystemActor("consent expiry"))
