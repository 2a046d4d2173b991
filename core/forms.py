"""Turning a service's ValidationError into errors beside a form's fields."""

from django import forms
from django.core.exceptions import ValidationError


def form_errors_from_service(form: forms.Form, exc: ValidationError, *, aliases: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError beside the form's fields: an error keyed by a field the form
    has goes beside it (or beside its alias: the service's `version` is the form's `purpose`),
    anything else at the top of the form. Nothing a service says is dropped."""
    aliases = aliases or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        field = aliases.get(field, field)
        form.add_error(field if field in form.fields else None, errors)
