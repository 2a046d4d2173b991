"""Comparing what people type: names with or without accents, in any case, phone numbers however
they are punctuated. Used where a typed value must name a person (a signature) and where free text
is searched for someone's name or number."""

from __future__ import annotations

import re
import unicodedata

_NON_DIGITS = re.compile(r"\D")


def text_fold(text: str) -> str:
    """`text` lower-cased, accents dropped, punctuation read as spaces, runs of spaces as one:
    "  Lefèvre-Dupont, PAUL " and "lefevre dupont paul" fold alike."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in bare).split())


def names_match(typed: str, *names: str) -> bool:
    """Whether `typed` is the person whose name is made of `names` (given and family names), in any
    order, accents, case and punctuation aside; every word must be there, and nothing else."""
    expected = sorted(" ".join(text_fold(n) for n in names).split())
    return bool(expected) and sorted(text_fold(typed).split()) == expected


def phone_digits(text: str) -> str:
    """The digits of a phone number, without the spaces, dots, dashes and brackets it was typed with."""
    return _NON_DIGITS.sub("", text or "")
