"""The translation check of `make lint`: untranslated and fuzzy catalogue entries, stale compiled
catalogues, and template text outside the translation tags are each reported, with where they are."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from core.i18n_check import catalogue_problems, po_entries, template_problems

needs_gettext = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("xgettext", "msgmerge", "msguniq", "msgfmt")),
    reason="the catalogues are extracted and compiled with GNU gettext (apt-get install -y gettext)",
)
HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def messages(problems):
    return [(p.line, p.message) for p in problems]


# --- the PO reader ------------------------------------------------------------------------------


def test_po_entries_read_context_plurals_flags_continuations_and_obsolete_entries():
    entries = po_entries(
        HEADER
        + '#: a.py:1\n#, fuzzy, python-format\nmsgctxt "appointment"\nmsgid "Cancelled"\nmsgstr "Annullato"\n\n'
        + 'msgid ""\n"Two "\n"lines"\nmsgstr ""\n"Due "\n"righe"\n\n'
        + 'msgid "%(n)s visit"\nmsgid_plural "%(n)s visits"\nmsgstr[0] "%(n)s visita"\nmsgstr[1] ""\n\n'
        + '#~ msgid "Gone"\n#~ msgstr "Parti"\n'
    )
    header, cancelled, lines, visits, gone = entries
    assert header.msgid == "" and "Plural-Forms" in header.msgstr[0]
    assert (cancelled.msgctxt, cancelled.msgid, cancelled.msgstr, cancelled.line) == (
        "appointment",
        "Cancelled",
        {0: "Annullato"},
        9,
    )
    assert cancelled.flags == {"fuzzy", "python-format"}
    assert (lines.msgid, lines.msgstr[0], lines.flags) == ("Two lines", "Due righe", set())
    assert (visits.msgid_plural, visits.msgstr) == ("%(n)s visits", {0: "%(n)s visita", 1: ""})
    assert gone.obsolete and gone.msgid == "Gone"


def test_a_line_that_is_not_po_is_an_error():
    with pytest.raises(ValueError, match="line 2"):
        po_entries('msgid "a"\nmsgstr: "b"\n')


# --- the catalogues -------------------------------------------------------------------------------


def test_untranslated_fuzzy_and_half_translated_plural_entries_are_listed_with_their_lines(tmp_path):
    po = write(
        tmp_path / "django.po",
        HEADER
        + 'msgid "Booked"\nmsgstr "Prenotata"\n\n'
        + 'msgid "Cancelled"\nmsgstr ""\n\n'
        + '#, fuzzy\nmsgid "Missed"\nmsgstr "Mancato"\n\n'
        + 'msgid "%(n)s visit"\nmsgid_plural "%(n)s visits"\nmsgstr[0] "%(n)s visita"\nmsgstr[1] ""\n\n'
        + '#~ msgid "Old"\n#~ msgstr ""\n',
    )
    assert messages(catalogue_problems(po)) == [
        (9, "untranslated: Cancelled"),
        (13, "fuzzy: Missed"),
        (16, "untranslated: %(n)s visit"),
    ]


@needs_gettext
def test_a_finished_catalogue_passes_and_a_stale_or_missing_compiled_one_is_reported(tmp_path):
    po = write(tmp_path / "django.po", HEADER + 'msgctxt "visit"\nmsgid "Booked"\nmsgstr "Prenotata"\n')
    mo = tmp_path / "django.mo"
    assert messages(catalogue_problems(po, mo)) == [(0, "not compiled: run `manage.py compilemessages`")]
    subprocess.run(["msgfmt", "-o", str(mo), str(po)], check=True)
    assert catalogue_problems(po, mo) == []

    write(po, HEADER + 'msgctxt "visit"\nmsgid "Booked"\nmsgstr "Prenotato"\n')
    (problem,) = catalogue_problems(po, mo)
    assert problem.path == mo and "out of date with django.po (first at: visit | Booked)" in problem.message


# --- the templates --------------------------------------------------------------------------------


def test_visible_text_and_read_attributes_outside_the_translation_tags_are_listed(tmp_path):
    template = write(
        tmp_path / "page.html",
        "{% load i18n %}<!DOCTYPE html>\n"  # 1
        "<title>{% block title %}{% endblock %} · Salus</title>\n"  # 2 a brand name
        "<h1>{% translate 'My details' %}</h1>\n"  # 3
        "<p>{% blocktranslate with n=count %}You have {{ n }} visits.{% endblocktranslate %}</p>\n"  # 4
        "<p>\n  Next visit: {{ when }}</p>\n"  # 5, 6
        '<input placeholder="Search patients" aria-label="{% translate \'Search\' %}">\n'  # 7
        '<img alt="Logo" src="x.png"><input type="submit" value="Send">\n'  # 8
        '<a title="{{ name }}" href="/">{{ name }} · {{ time }} – 12:00</a>\n'  # 9 only values
        "<script>const label = 'Hidden';</script><style>.x::after { content: 'Styled'; }</style>\n"  # 10
        "{% comment %}Notes for developers{% endcomment %}{# a note #}\n"  # 11
        '<li{% if on %} aria-current="step"{% endif %}>{% translate "Time" %}</li>\n'  # 12
        "{% block bodyclass %}change-form{% endblock %}<b>Café</b>\n",  # 13
    )
    assert messages(template_problems(template)) == [
        (6, 'not translated: text "Next visit: …"'),
        (7, 'not translated: input placeholder="Search patients"'),
        (8, 'not translated: img alt="Logo"'),
        (8, 'not translated: input value="Send"'),
        (13, 'not translated: text "Café"'),
    ]


def test_a_tag_built_from_conditions_is_read_as_one_element(tmp_path):
    template = write(
        tmp_path / "button.html",
        '<{% if href %}a href="{{ href }}"{% else %}button{% endif %} class="button{% if danger %} danger{% endif %}">'
        "{% slot %}{% endslot %}</{% if href %}a{% else %}button{% endif %}>",
    )
    assert template_problems(template) == []


# --- the command ------------------------------------------------------------------------------------


@needs_gettext
def test_the_project_languages_are_finished():
    """The real catalogues and templates: a string marked for translation and not yet in French and
    Italian, a fuzzy entry, a stale .mo or a template word outside the tags makes this fail."""
    call_command("check_translations")


@needs_gettext
def test_the_command_extracts_afresh_and_lists_new_strings_in_every_language(tmp_path, settings, capsys):
    project = tmp_path / "project"
    write(
        project / "templates" / "home.html", '{% load i18n %}<h1>{% translate "A brand new heading" %}</h1>\n<p>Plain words</p>\n'
    )
    for code in ("fr", "it"):
        write(project / "locale" / code / "LC_MESSAGES" / "django.po", HEADER)
    templates = [{**settings.TEMPLATES[0], "DIRS": [project / "templates"]}]
    with (
        override_settings(BASE_DIR=project, LOCALE_PATHS=[project / "locale"], TEMPLATES=templates),
        pytest.raises(CommandError, match="3 translation problem"),
    ):
        call_command("check_translations")
    assert capsys.readouterr().err.splitlines() == [
        "locale/fr/LC_MESSAGES/django.po:9: untranslated: A brand new heading",
        "locale/it/LC_MESSAGES/django.po:9: untranslated: A brand new heading",
        'templates/home.html:2: not translated: text "Plain words"',
    ]
    # The project's own catalogues are read, never written.
    assert (project / "locale" / "fr" / "LC_MESSAGES" / "django.po").read_text() == HEADER


def test_only_the_projects_own_apps_are_scanned_not_a_virtualenv_inside_the_checkout(tmp_path):
    from core.management.commands.check_translations import _is_project_code

    assert _is_project_code(tmp_path / "scheduling", tmp_path)
    assert not _is_project_code(tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "allauth", tmp_path)
    assert not _is_project_code(tmp_path / "var" / "app", tmp_path)
    assert not _is_project_code(tmp_path.parent / "elsewhere", tmp_path)
