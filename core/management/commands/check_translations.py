"""Fail when a language is not finished: `manage.py check_translations` (part of `make lint`).

1. The catalogues are extracted afresh from the code and templates, in a scratch copy (the
   repository is not touched), so that a string marked for translation but never added to the
   catalogues counts as untranslated too; every untranslated or fuzzy entry of each language but
   English is listed, and a compiled catalogue that does not match its .po file is reported.
2. Every template of the project is scanned for visible text outside {% translate %} and
   {% blocktranslate %}: text between tags, and attributes that are read (title, placeholder,
   aria-label, alt, a button's value).

To finish a language after new strings: `manage.py makemessages -l fr -l it`, translate the entries
listed here, then `manage.py compilemessages`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from core.i18n_check import Problem, catalogue_problems, template_problems

# Project folders that hold no strings of the product.
NOT_SOURCE = {".venv", "var", "locale", "staticfiles", "media", "tests", "bench", "docs", "node_modules"}


class Command(BaseCommand):
    help = "Fail on untranslated or fuzzy catalogue entries and on template text outside the translation tags."

    def add_arguments(self, parser):
        parser.add_argument("--no-extract", action="store_true", help="check the catalogues as they are, without extracting")
        parser.add_argument("--skip-templates", action="store_true")
        parser.add_argument("--skip-catalogues", action="store_true")

    def handle(self, *args, no_extract=False, skip_templates=False, skip_catalogues=False, **options):
        base = Path(settings.BASE_DIR)
        problems: list[Problem] = []
        if not skip_catalogues:
            problems += self.catalogue_problems(base, extract=not no_extract)
        if not skip_templates:
            problems += self.template_problems(base)
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(
                f"{len(problems)} translation problem(s). Refresh with `manage.py makemessages -l fr -l it`, "
                "translate, then `manage.py compilemessages`."
            )
        self.stdout.write(self.style.SUCCESS("Every language is finished."))

    @staticmethod
    def languages() -> list[str]:
        return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]

    def catalogue_problems(self, base: Path, *, extract: bool) -> list[Problem]:
        locale_dir = Path(settings.LOCALE_PATHS[0])
        problems: list[Problem] = []
        if not extract:
            for code in self.languages():
                po = locale_dir / code / "LC_MESSAGES" / "django.po"
                problems += catalogue_problems(po, po.with_suffix(".mo")) if po.exists() else [Problem(po, 0, "missing")]
            return problems
        missing = [tool for tool in ("xgettext", "msgmerge", "msguniq") if shutil.which(tool) is None]
        if missing:
            raise CommandError(f"extracting the catalogues needs GNU gettext ({', '.join(missing)}): apt-get install -y gettext")
        with tempfile.TemporaryDirectory(prefix="salus-i18n-") as scratch:
            fresh = Path(scratch) / "locale"
            shutil.copytree(locale_dir, fresh, ignore=shutil.ignore_patterns("*.mo"))
            # The scratch folder mirrors the project through links, so makemessages walks the same
            # files (with the same relative names) and writes only to the scratch catalogues.
            for child in base.iterdir():
                if child.name not in NOT_SOURCE and not child.name.startswith(".") and child.is_dir():
                    (Path(scratch) / child.name).symlink_to(child, target_is_directory=True)
            previous = Path.cwd()
            try:
                os.chdir(scratch)
                with override_settings(LOCALE_PATHS=[str(fresh)]):
                    call_command("makemessages", locale=self.languages(), symlinks=True, verbosity=0, no_obsolete=True)
            finally:
                os.chdir(previous)
            for code in self.languages():
                po = fresh / code / "LC_MESSAGES" / "django.po"
                shown = _relative(locale_dir / code / "LC_MESSAGES" / "django.po", base)
                mo = locale_dir / code / "LC_MESSAGES" / "django.mo"
                found = catalogue_problems(po, mo)
                problems += [Problem(shown if p.path == po else _relative(p.path, base), p.line, p.message) for p in found]
        return problems

    def template_problems(self, base: Path) -> list[Problem]:
        engines: list[dict] = settings.TEMPLATES
        folders = [Path(folder) for engine in engines for folder in engine.get("DIRS", [])]
        folders += [
            Path(config.path) / "templates" for config in apps.get_app_configs() if _is_project_code(Path(config.path), base)
        ]
        problems: list[Problem] = []
        for folder in folders:
            for path in sorted(folder.rglob("*.html")) if folder.is_dir() else []:
                problems += template_problems(path, display=path.relative_to(base))
        return problems


def _is_project_code(path: Path, base: Path) -> bool:
    """An app of this project: inside the checkout, and not in a virtualenv or other folder that is
    not source (a `.venv` inside the checkout holds every third-party app)."""
    path, base = path.resolve(), base.resolve()
    if not path.is_relative_to(base):
        return False
    top = path.relative_to(base).parts[:1]
    return not top or (top[0] not in NOT_SOURCE and not top[0].startswith("."))


def _relative(path: Path, base: Path) -> Path:
    return path.relative_to(base) if path.is_relative_to(base) else path
