"""Atomic file writes: a file is either its old whole self or its new whole self, never half.

Each write goes to a hidden temporary file in the target's folder, is flushed to disk, then
renamed over the target (a rename within one folder is atomic on POSIX and Windows). On any
failure the temporary file is removed and the old target is left untouched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically", "write_bytes_atomically", "write_text_atomically"]


def write_atomically(target: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary_path)`` to produce the file, then move it onto ``target``.

    For writers that want a path, e.g. ``write_atomically(p, frame.to_parquet)`` or
    ``write_atomically(p, lambda tmp: save_file(tensors, tmp))``. Missing parent folders are
    created. Returns ``target`` as a ``Path``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(temporary)
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_folder(target.parent)
    return target


def write_bytes_atomically(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically; returns ``target`` as a ``Path``."""
    return write_atomically(target, lambda temporary: temporary.write_bytes(data))


def write_text_atomically(
    target: str | os.PathLike[str], text: str, *, encoding: str = "utf-8"
) -> Path:
    """Write ``text`` to ``target`` atomically (UTF-8 by default); returns ``target``."""
    return write_bytes_atomically(target, text.encode(encoding))


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; folders cannot be opened this way on Windows.
    if not hasattr(os, "O_DIRECTORY"):
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
