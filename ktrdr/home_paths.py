"""Paths a request names, checked to stay inside their folder under ``KTRDR_HOME``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ktrdr.errors import ValidationError

MAX_PATH_CHARS = 1024
MAX_PART_CHARS = 255


def check_path_text(text: str, what: str) -> None:
    """Refuse a path too long for any file system, or with a NUL byte, before touching disk."""
    if not text or len(text) > MAX_PATH_CHARS or "\x00" in text:
        raise ValidationError(
            f"{what} {text[:80]!r}{'…' if len(text) > 80 else ''} is not allowed: "
            f"use 1-{MAX_PATH_CHARS} characters, no NUL",
            details={"length": len(text)},
        )
    if any(len(part) > MAX_PART_CHARS for part in Path(text).parts):
        raise ValidationError(
            f"{what} {text[:80]!r}…: a path component is over {MAX_PART_CHARS} characters",
            details={"length": len(text)},
        )


def inside(path: Path, roots: Sequence[Path]) -> bool:
    """True when ``path``, links resolved, lies in one of ``roots``."""
    try:
        resolved = path.resolve()
        return any(resolved.is_relative_to(root.resolve()) for root in roots)
    except (OSError, RuntimeError):
        return False


def places_inside(
    reference: str | Path, base: Path, roots: Sequence[Path], what: str
) -> list[Path]:
    """``reference`` as an absolute path, or relative to ``base``, kept only inside ``roots``.

    The same ValidationError whether or not the file exists, so the answer reveals nothing
    about files outside ``roots``.
    """
    text = str(reference)
    check_path_text(text, what)
    given = Path(text)
    candidates = [given] if given.is_absolute() else [base / given, *(r / given for r in roots)]
    places = list(dict.fromkeys(c for c in candidates if inside(c, roots)))
    if not places:
        folders = ", ".join(str(root) for root in roots)
        raise ValidationError(
            f"{what} {text!r} is not allowed: it must lie inside {folders}",
            details={what.replace(" ", "_"): text},
        )
    return places
