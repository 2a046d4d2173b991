"""Is every language finished? Catalogue entries left untranslated or fuzzy, and template text left
outside the translation tags.

Small on purpose: a PO reader that knows just what a catalogue needs (flags, context, plurals,
obsolete entries), and a template scanner built on Django's own template lexer and the standard
library's HTML parser, so that what counts as "text" is what the browser would show.
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import DebugLexer, TokenType

# --- catalogues -------------------------------------------------------------------------------


@dataclass
class PoEntry:
    msgid: str
    line: int
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def label(self) -> str:
        text = self.msgid if len(self.msgid) <= 70 else self.msgid[:67] + "..."
        return f"{self.msgctxt} | {text}" if self.msgctxt else text


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')
_CONTINUATION = re.compile(r'^(".*")\s*$')


def po_entries(text: str) -> list[PoEntry]:
    """The entries of a PO file, header included (its msgid is "")."""
    entries: list[PoEntry] = []
    current: PoEntry | None = None
    flags: set[str] = set()
    target: tuple[str, int | None] | None = None

    def finish() -> None:
        nonlocal current, flags, target
        if current is not None:
            entries.append(current)
        current, flags, target = None, set(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            # A comment after a translation belongs to the next entry.
            if target is not None and target[0] == "msgstr":
                finish()
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        keyword = _KEYWORD.match(line)
        if keyword:
            name, index, literal = keyword.groups()
            value = _unquote(literal)
            if name in ("msgctxt", "msgid") and target is not None and target[0] != "msgctxt":
                finish()
            if current is None:
                current = PoEntry(msgid="", line=number, flags=flags, obsolete=obsolete)
            if name == "msgctxt":
                current.msgctxt = value
                target = ("msgctxt", None)
            elif name == "msgid":
                current.msgid = value
                current.line = number
                target = ("msgid", None)
            elif name == "msgid_plural":
                current.msgid_plural = value
                target = ("msgid_plural", None)
            else:
                slot = int(index) if index is not None else 0
                current.msgstr[slot] = value
                target = ("msgstr", slot)
            continue
        continuation = _CONTINUATION.match(line)
        if continuation and current is not None and target is not None:
            value = _unquote(continuation.group(1))
            name, part = target
            if name == "msgctxt":
                current.msgctxt = (current.msgctxt or "") + value
            elif name == "msgid":
                current.msgid += value
            elif name == "msgid_plural":
                current.msgid_plural = (current.msgid_plural or "") + value
            else:
                current.msgstr[part or 0] += value
            continue
        raise ValueError(f"line {number}: not a PO line: {raw!r}")
    finish()
    return entries


def _unquote(literal: str) -> str:
    return ast.literal_eval(literal)


def catalogue_problems(po_path: Path, mo_path: Path | None = None) -> list[Problem]:
    """Every untranslated or fuzzy entry of a catalogue, and a compiled file that does not match it."""
    problems: list[Problem] = []
    entries = po_entries(po_path.read_text(encoding="utf-8"))
    live = [e for e in entries if not e.obsolete and e.msgid]
    for entry in live:
        if "fuzzy" in entry.flags:
            problems.append(Problem(po_path, entry.line, f"fuzzy: {entry.label}"))
        elif not entry.msgstr or any(not value for value in entry.msgstr.values()):
            problems.append(Problem(po_path, entry.line, f"untranslated: {entry.label}"))
    if mo_path is not None and not problems:
        problems.extend(_compiled_problems(po_path, mo_path, live))
    return problems


def _compiled_problems(po_path: Path, mo_path: Path, live: list[PoEntry]) -> list[Problem]:
    if not mo_path.exists():
        return [Problem(mo_path, 0, "not compiled: run `manage.py compilemessages`")]
    with mo_path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    for entry in live:
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt is not None else entry.msgid
        if entry.msgid_plural is None:
            found = compiled.get(key) == entry.msgstr.get(0)
        else:
            found = all(compiled.get((key, n)) == value for n, value in entry.msgstr.items())
        if not found:
            return [
                Problem(mo_path, 0, f"out of date with {po_path.name} (first at: {entry.label}): run `manage.py compilemessages`")
            ]
    return []


# --- templates --------------------------------------------------------------------------------

# Attributes a person reads or hears (screen readers), whatever the element.
VISIBLE_ATTRIBUTES = frozenset({"title", "placeholder", "aria-label", "aria-description", "alt", "aria-placeholder"})
# Names that are the same in every language.
ALLOWED_TEXT = frozenset({"Salus", "FHIR", "R4", "PDF", "CSV", "iCalendar", "API", "SpO2", "SHA-256"})
# Template tags whose content is translated, or not shown, as a whole.
_SKIPPED_BLOCKS = {
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
    "comment": "endcomment",
}
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
# Stands for a template variable or tag in the text given to the HTML parser: no letters, so
# `{{ value }} mg` is judged by "mg", and "{% translate 'Save' %}" by nothing.
_PLACEHOLDER = "\x00"


# Blocks that fill a class attribute or the page's head, not the page's text.
_MARKUP_BLOCKS = frozenset({"bodyclass", "coltype", "main_class", "extrastyle", "extrahead"})
_WORD = re.compile(r"[\w-]+", re.UNICODE)


def _words_start(text: str) -> int | None:
    """Where the first word that needs translating starts in the text, or None if there is none."""
    for word in _WORD.finditer(text.replace(_PLACEHOLDER, " ")):
        if word.group() not in ALLOWED_TEXT and _LETTER.search(word.group()):
            return word.start()
    return None


def _template_as_html(source: str) -> str:
    """The template with each tag and variable replaced by a placeholder (newlines kept, so that
    line numbers still match), translated blocks and comments blanked out.

    Inside an HTML tag a template tag or variable becomes a space (or nothing right after "<"), so
    that `<li{% if current %} aria-current="step"{% endif %}>` still reads as one element."""
    parts: list[str] = []
    skip_until: str | None = None

    def placeholder() -> str:
        text = "".join(parts)
        if text.rfind("<") > text.rfind(">"):
            return "" if text.endswith("<") else " "
        return _PLACEHOLDER

    for token in DebugLexer(source).tokenize():
        start, end = token.position or (0, 0)
        newlines = "\n" * source.count("\n", start, end)
        if skip_until is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[:1] == [skip_until]:
                skip_until = None
            parts.append(newlines)
            continue
        if token.token_type == TokenType.BLOCK:
            bits = token.contents.split()
            if bits and bits[0] in _SKIPPED_BLOCKS:
                skip_until = _SKIPPED_BLOCKS[bits[0]]
            elif bits[:1] == ["block"] and len(bits) > 1 and bits[1] in _MARKUP_BLOCKS:
                skip_until = "endblock"
            parts.append(placeholder() + newlines)
        elif token.token_type in (TokenType.VAR, TokenType.COMMENT):
            parts.append(placeholder() + newlines)
        else:
            parts.append(token.contents)
    return "".join(parts)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden_depth += 1
        values = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            visible = name in VISIBLE_ATTRIBUTES or (
                name == "value" and tag == "input" and (values.get("type") or "").lower() in ("submit", "button", "reset")
            )
            if visible and _words_start(value) is not None:
                self.found.append((self.getpos()[0], f'{tag} {name}="{value.replace(_PLACEHOLDER, "…").strip()}"'))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        first = _words_start(data) if self._hidden_depth == 0 else None
        if first is not None:
            text = " ".join(data.replace(_PLACEHOLDER, "…").split())
            # getpos() is where the data starts: count the lines down to its first word.
            line = self.getpos()[0] + data[:first].count("\n")
            self.found.append((line, f'text "{text}"'))


def template_problems(path: Path, display: Path | None = None) -> list[Problem]:
    """Visible text in a template that is not inside {% translate %} or {% blocktranslate %}."""
    parser = _VisibleText()
    parser.feed(_template_as_html(path.read_text(encoding="utf-8")))
    parser.close()
    shown = display or path
    return [Problem(shown, line, f"not translated: {what}") for line, what in parser.found]
