"""Subscribers to domain events read from the outbox.

An app that reacts to another app's events (outreach journeys, care-plan triggers, ...)
registers a handler in its AppConfig.ready(). Handlers receive the OutboxItem and must be
idempotent: a worker crash after a handler ran re-runs the row.
"""

from collections import defaultdict
from collections.abc import Callable

_handlers: dict[str, list[Callable]] = defaultdict(list)


def event_handler_register(*, topic: str, handler: Callable) -> None:
    """Register `handler(item)` for a topic, or for every topic with "*"."""
    if handler not in _handlers[topic]:
        _handlers[topic].append(handler)


def event_handlers_for(topic: str) -> list[Callable]:
    return [*_handlers.get(topic, ()), *_handlers.get("*", ())]
