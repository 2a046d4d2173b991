"""Private files (receipts, scanned forms, data exports): outside every public URL, served only
by views that check who is asking."""

import uuid
from pathlib import Path

from django.conf import settings


def _root() -> Path:
    return Path(settings.PRIVATE_STORAGE_ROOT)


def private_file_write(*, folder: str, suffix: str, content: bytes) -> str:
    """Store bytes under an unguessable name; return the relative path kept in the database."""
    relative = f"{folder}/{uuid.uuid4().hex}{suffix}"
    path = _root() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return relative


def private_file_path(relative: str) -> Path:
    """The absolute path of a stored file; refuses anything that would leave the private root."""
    root = _root().resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError("Not a private file path.")
    return path


def private_file_delete(relative: str) -> None:
    if relative:
        private_file_path(relative).unlink(missing_ok=True)


def private_files_sweep(*, referenced: set[str], folders: tuple[str, ...], older_than_seconds: int = 3600) -> int:
    """Delete files in `folders` that no row references: left by a transaction that rolled back
    or a process that died after writing. Young files are kept (their transaction may be open)."""
    import time

    cutoff = time.time() - older_than_seconds
    removed = 0
    for folder in folders:
        base = _root() / folder
        if not base.is_dir():
            continue
        for path in base.iterdir():
            relative = f"{folder}/{path.name}"
            if path.is_file() and relative not in referenced and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
    return removed
