"""SMS channel backends. Production plugs a provider in through SALUS_SMS_BACKEND."""

import logging
import sys
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    sender: str


class BaseSmsBackend:
    def send(self, message: SmsMessage) -> str:
        """Send one SMS and return the provider's message id. Raise on failure."""
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Writes the SMS to standard output, like Django's console email backend (development)."""

    def send(self, message: SmsMessage) -> str:
        sys.stdout.write(f"--- SMS from {message.sender} to {message.to}\n{message.body}\n---\n")
        sys.stdout.flush()
        return "console"


class LocmemSmsBackend(BaseSmsBackend):
    """Keeps sent messages in `LocmemSmsBackend.outbox` for tests."""

    outbox: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> str:
        type(self).outbox.append(message)
        return f"locmem-{len(type(self).outbox)}"


def get_sms_backend() -> BaseSmsBackend:
    return import_string(settings.SALUS_SMS_BACKEND)()
