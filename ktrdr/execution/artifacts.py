"""Where a job writes its files, so the same job code runs on this machine or on a Ray node.

A job asks ``artifact_sink()`` for paths (``sink.path("backtests", op_id)``), writes there, and
returns ``sink.published(path)`` in its result: the path readers will find the file at under
the server's ``KTRDR_HOME``. In a local worker the sink *is* ``KTRDR_HOME``; in a Ray task it is
a scratch folder whose files go back to the server (``collect``), which writes them under its
home (``write_artifacts``) before the operation is marked completed.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

from ktrdr.errors import ValidationError
from ktrdr.files import write_bytes_atomically
from ktrdr.settings import get_settings

_current: contextvars.ContextVar[ArtifactSink | None] = contextvars.ContextVar(
    "ktrdr_artifact_sink", default=None
)


class ArtifactSink:
    """A folder a job writes into (``root``) and where its files end up (``published_root``).

    E.g. ``ArtifactSink(Path("/tmp/job1"), published_root=Path("/srv/ktrdr"))``:
    ``sink.published(sink.path("models", "x", "v2"))`` is ``/srv/ktrdr/models/x/v2``.
    """

    def __init__(self, root: Path, *, published_root: Path | None = None) -> None:
        self.root = Path(root)
        self.published_root = Path(published_root) if published_root is not None else self.root

    def path(self, *parts: str) -> Path:
        """A path under the sink, e.g. ``path("models/eurusd/v3")``; no escaping the root."""
        return self.root / relative_path(str(PurePosixPath(*parts)))

    def published(self, path: Path | str) -> Path:
        """Where the file written at ``path`` (under ``root``) can be read once the job is done."""
        return self.published_root / Path(path).relative_to(self.root)

    def collect(self) -> dict[str, bytes]:
        """Every file written under the sink, by POSIX path relative to ``root``.

        In the order the job wrote them (e.g. weights before bundle.json), so whoever writes
        them out again in this order keeps a job's "written last = complete" markers last.
        """
        if not self.root.is_dir():
            return {}
        files = [file for file in self.root.rglob("*") if file.is_file()]
        files.sort(key=lambda file: (file.stat().st_mtime_ns, file.as_posix()))
        return {file.relative_to(self.root).as_posix(): file.read_bytes() for file in files}


def artifact_sink() -> ArtifactSink:
    """The sink of the job running now; outside a remote job, ``KTRDR_HOME`` itself."""
    sink = _current.get()
    return sink if sink is not None else ArtifactSink(get_settings().home)


@contextlib.contextmanager
def using_sink(sink: ArtifactSink) -> Iterator[ArtifactSink]:
    """Make ``sink`` the one ``artifact_sink()`` returns inside the ``with`` block."""
    token = _current.set(sink)
    try:
        yield sink
    finally:
        _current.reset(token)


def relative_path(name: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside its root ("../x" and "/x" are refused)."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts:
        raise ValidationError(
            f"artifact path {name!r} must be relative and stay inside KTRDR_HOME "
            "(no leading '/', no '..')"
        )
    return path


def write_artifacts(home: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` (relative path -> bytes) under ``home``, each atomically; the paths."""
    written = []
    for name, data in files.items():
        target = Path(home) / relative_path(name)
        written.append(write_bytes_atomically(target, data))
    return written
