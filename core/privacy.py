"""The privacy registry: each app's share of a patient's data export and of an erasure.

The `privacy` app carries out patients' rights (GDPR Art. 15, 17, 20) without knowing the other
apps' tables, and they never import it: each app that holds data on patients has a module
`privacy_share.py` that registers one `PrivacyShare` here, found once like the admin's `admin.py`
modules. A share gives

- `export_sections`: what the app holds on a patient, as rows for the JSON file and the PDF;
- `identity(patient)`: what in the app's rows names the patient directly (a signer's typed name,
  a contact's phone), gathered before anything is erased, so that every share's free text can be
  searched for all of it;
- `erase(ctx)`: what the erasure does to the app's own rows (pseudonymize, withdraw, cancel,
  blank), in `erase_order` — only the app's own tables;
- `mentions(patient)`: where *other* patients' records quote the patient (a neighbour named in
  someone else's clinical note), current text and past versions, found before anything is erased.
  Another patient's record is never rewritten silently: each mention becomes an item that an
  administrator reviews, and `mention_redact(actor=, object_id=, texts=)` is the owning app's
  service that redacts it when the administrator decides so.

The text helpers below (`Identity.pattern`, `scrub`, `scrub_rows`, `patient_rows_scrub`) let a
share replace identifying words in its free text the same way every other share does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.crypto import salted_hmac
from django.utils.module_loading import autodiscover_modules

from .records import actor_user
from .text import phone_digits, text_fold

ERASED_GIVEN_NAME = "Erased"
ERASED_TEXT = "[erased]"


def erasure_pseudonym(patient_pk: int) -> str:
    """A stable label for an erased patient, derived from the id with the secret key: it tells
    erased records apart without pointing back to anyone."""
    return "Patient-" + salted_hmac("salus.privacy.erasure", str(patient_pk)).hexdigest()[:10]


@dataclass(frozen=True)
class ExportSection:
    """One part of a patient's export. `build(patient)` returns a list of rows (dicts) or one dict;
    `columns` are the (key, label[, choices]) the PDF shows (the JSON holds every key); sections
    appear in the export by `order`."""

    key: str
    title: Any
    build: Callable[[Any], list[dict] | dict]
    columns: tuple = field(default=())
    order: int = 100


@dataclass
class Identity:
    """What identifies a patient directly. `distinctive` is searched for in rows that are not the
    patient's own (a staff email quoting an MRN); short or common values (a given name alone) only
    in the patient's own rows."""

    distinctive: set[str] = field(default_factory=set)
    common: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)

    def add(
        self, *, distinctive: Iterable[str | None] = (), common: Iterable[str | None] = (), phones: Iterable[str | None] = ()
    ):
        self.distinctive |= words(distinctive)
        self.common |= words(common)
        self.phones |= words(phones)
        return self

    def merged(self, other: Identity) -> Identity:
        distinctive = self.distinctive | other.distinctive
        return Identity(
            distinctive=distinctive, common=(self.common | other.common) - distinctive, phones=self.phones | other.phones
        )

    def pattern(self, *, distinctive_only: bool = False) -> re.Pattern | None:
        chosen = self.distinctive if distinctive_only else self.distinctive | self.common
        parts = [re.escape(w) for w in sorted(chosen, key=len, reverse=True)]
        parts += [p for p in (_phone_pattern(x) for x in sorted(self.phones)) if p]
        if not parts:
            return None
        return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)

    def search_terms(self) -> set[str]:
        """What to look for with SQL LIKE, which folds the case of ASCII letters only."""
        terms = set()
        for w in self.distinctive | self.phones:
            terms |= {w, w.upper(), w.lower()}
            escaped = json.dumps(w)[1:-1]  # as it appears inside a JSON document
            if escaped != w:
                terms |= {escaped, json.dumps(w.upper())[1:-1]}
        return terms


@dataclass
class ErasureContext:
    """What every share's `erase` is given. `files` collects private files to delete once every
    share has run (the privacy app deletes them last, inside the transaction)."""

    patient: Any
    actor: Any
    identity: Identity
    reason: str
    files: list[str] = field(default_factory=list)

    @property
    def pseudonym(self) -> str:
        return erasure_pseudonym(self.patient.pk)

    @property
    def history_user(self):
        return actor_user(self.actor)


@dataclass(frozen=True)
class Mention:
    """A row of another patient's record that quotes the erased patient: which row (`model` as
    "app_label.model_name", its id), whose record it is, and the words found, as they are written
    there (current text and past versions)."""

    model: str
    object_id: int
    owner_patient_id: int
    texts: tuple[str, ...]
    in_current_text: bool


class MentionFinder:
    """Finds a person's names, email and phone numbers in free text, however they are written:
    accents, case and punctuation aside for names, any spacing or country prefix for numbers
    (the last nine digits decide). `found(text)` returns the words as written in `text`."""

    PHONE_DIGITS_COMPARED = 9

    def __init__(self, *, names: Iterable[str] = (), emails: Iterable[str] = (), phones: Iterable[str] = ()):
        self.names = {n for n in (text_fold(x) for x in names) if len(n.replace(" ", "")) >= 5 and " " in n}
        self.emails = {e.strip().lower() for e in emails if e and "@" in e}
        self.phones = {d[-self.PHONE_DIGITS_COMPARED :] for d in (phone_digits(p) for p in phones) if len(d) >= 8}

    def __bool__(self) -> bool:
        return bool(self.names or self.emails or self.phones)

    def found(self, text: str) -> list[str]:
        text = text or ""
        hits: list[str] = []
        if self.names:
            hits += _names_in(text, self.names)
        lowered = text.lower()
        hits += [text[i : i + len(e)] for e in self.emails for i in _all_indexes(lowered, e)]
        for run in _PHONE_RUN.finditer(text):
            digits = phone_digits(run.group())
            if len(digits) >= 8 and digits[-self.PHONE_DIGITS_COMPARED :] in self.phones:
                hits.append(run.group().strip())
        return list(dict.fromkeys(hits))


_PHONE_RUN = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_WORD = re.compile(r"\w+")


def _all_indexes(haystack: str, needle: str) -> list[int]:
    out, start = [], haystack.find(needle)
    while start != -1:
        out.append(start)
        start = haystack.find(needle, start + 1)
    return out


def _names_in(text: str, names: set[str]) -> list[str]:
    """Each folded name, as a run of whole words of `text` (written in any case and accents)."""
    words = list(_WORD.finditer(text))
    folded = [text_fold(w.group()) for w in words]
    hits = []
    for name in names:
        parts = name.split()
        n = len(parts)
        for i in range(len(words) - n + 1):
            if folded[i : i + n] == parts:
                hits.append(text[words[i].start() : words[i + n - 1].end()])
    return hits


@dataclass(frozen=True)
class PrivacyShare:
    app_label: str
    export_sections: tuple[ExportSection, ...] = ()
    identity: Callable[[Any], Identity] | None = None
    erase: Callable[[ErasureContext], None] | None = None
    erase_order: int = 100
    mentions: Callable[[Any], list[Mention]] | None = None
    mention_redact: Callable[..., None] | None = None


_SHARES: dict[str, PrivacyShare] = {}
_discovered = False


def share_register(share: PrivacyShare) -> None:
    """Register an app's share (a later share of the same app replaces it)."""
    _SHARES[share.app_label] = share


def shares() -> list[PrivacyShare]:
    """Every app's share, in erasure order; the apps' `privacy_share` modules are imported once."""
    global _discovered
    if not _discovered:
        autodiscover_modules("privacy_share")
        _discovered = True
    return sorted(_SHARES.values(), key=lambda s: (s.erase_order, s.app_label))


def row_fields(obj: models.Model, *, exclude: Iterable[str] = ("patient",)) -> dict:
    """Every stored field of a row, foreign keys as ids (an export section's row)."""
    return {
        (f.attname if f.is_relation else f.name): getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.name not in exclude
    }


def model_columns(model: type[models.Model], names: Iterable[str]) -> tuple:
    """PDF columns named by the model's own field labels, with their choices."""
    out = []
    for name in names:
        model_field = model._meta.get_field(name)
        choices = dict(model_field.flatchoices) if model_field.choices else None
        out.append((name, model_field.verbose_name, choices))
    return tuple(out)


def user_label(user) -> str:
    return (user.get_full_name() or user.email) if user is not None else ""


def words(values: Iterable[str | None]) -> set[str]:
    return {v.strip() for v in values if v and len(v.strip()) >= 3}


def _phone_pattern(phone: str) -> str | None:
    digits = phone_digits(phone)
    # Matches the number however it was typed: "+33 6 12 34 56 78", "+33612345678", "33-6-12...".
    return r"\+?" + r"[\s().-]*".join(digits) if len(digits) >= 6 else None


def scrub(value, pattern: re.Pattern | None):
    """`value` (text, or JSON made of lists and dicts) with every match replaced by "[erased]"."""
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(ERASED_TEXT, value)
    if isinstance(value, list):
        return [scrub(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, pattern) for k, v in value.items()}
    return value


_TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def scrub_rows(queryset: QuerySet, pattern: re.Pattern | None) -> int:
    """Replace identifying words in every text column of these rows, in place (no new versions:
    this rewrites the past, history rows included)."""
    if pattern is None:
        return 0
    model = queryset.model
    text_fields = [
        f for f in model._meta.concrete_fields if isinstance(f, _TEXT_FIELDS) and not f.primary_key and not f.is_relation
    ]
    if not text_fields:
        return 0
    changes = []
    for row in queryset.values("pk", *[f.attname for f in text_fields]).iterator(chunk_size=1000):
        updates = {}
        for f in text_fields:
            value = row[f.attname]
            scrubbed = scrub(value, pattern)
            if scrubbed != value:
                updates[f.attname] = scrubbed
        if updates:
            changes.append((row["pk"], updates))
    for pk, updates in changes:
        model._base_manager.filter(pk=pk).update(**updates)
    return len(changes)


def rows_mentioning(queryset: QuerySet, fields: Iterable[str], terms: set[str]) -> QuerySet:
    q = Q()
    for term in terms:
        for name in fields:
            q |= Q(**{f"{name}__icontains": term})
    return queryset.filter(q) if q else queryset.none()


def patient_linked_models(app_label: str, patient_model: type[models.Model]) -> list[tuple[type[models.Model], str]]:
    """The app's tables with a foreign key to the patient (history tables included), except the
    hash-chained ones, which hold ids and hashes only and must still verify."""
    linked = []
    for model in apps.get_app_config(app_label).get_models():
        if getattr(model, "CHAIN_NAME", "") or model is patient_model:  # a hash-chained table (audit.ChainedRecord)
            continue
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model is patient_model:
                linked.append((model, f.attname))
    return linked


def patient_rows_scrub(app_label: str, ctx: ErasureContext) -> None:
    """Every row of the app that points to the patient loses the words that identify them."""
    full = ctx.identity.pattern()
    for model, attname in patient_linked_models(app_label, type(ctx.patient)):
        scrub_rows(model._base_manager.filter(**{attname: ctx.patient.pk}), full)
