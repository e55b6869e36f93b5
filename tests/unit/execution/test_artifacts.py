"""The artifact sink: where a job's files are written, published, collected and written back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ktrdr.errors import ValidationError
from ktrdr.execution.artifacts import (
    ArtifactSink,
    artifact_sink,
    relative_path,
    using_sink,
    write_artifacts,
)


def test_outside_a_remote_job_the_sink_is_ktrdr_home(ktrdr_home: Path) -> None:
    sink = artifact_sink()
    assert sink.root == ktrdr_home
    target = sink.path("backtests", "op_1", "trades.parquet")
    assert target == ktrdr_home / "backtests" / "op_1" / "trades.parquet"
    assert sink.published(target) == target


def test_a_remote_sink_publishes_paths_under_the_server_home(tmp_path: Path) -> None:
    sink = ArtifactSink(tmp_path / "scratch", published_root=Path("/srv/ktrdr"))
    with using_sink(sink):
        assert artifact_sink() is sink
        written = artifact_sink().path("models/eurusd/v3")
    assert written == tmp_path / "scratch" / "models" / "eurusd" / "v3"
    assert sink.published(written) == Path("/srv/ktrdr/models/eurusd/v3")
    assert artifact_sink() is not sink


def test_collect_returns_files_in_the_order_written_and_they_land_under_home(
    tmp_path: Path,
) -> None:
    sink = ArtifactSink(tmp_path / "scratch")
    weights, manifest = sink.path("models/m/v1/weights.bin"), sink.path("models/m/v1/bundle.json")
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"\x00\x01")
    manifest.write_text("{}")
    os.utime(weights, ns=(1_000, 1_000))  # weights first, whatever the file system's clock says
    os.utime(manifest, ns=(2_000, 2_000))

    files = sink.collect()
    assert list(files) == ["models/m/v1/weights.bin", "models/m/v1/bundle.json"]

    home = tmp_path / "home"
    written = write_artifacts(home, files)
    assert written == [home / "models/m/v1/weights.bin", home / "models/m/v1/bundle.json"]
    assert (home / "models/m/v1/weights.bin").read_bytes() == b"\x00\x01"
    assert {p.name for p in (home / "models/m/v1").iterdir()} == {"bundle.json", "weights.bin"}


def test_an_empty_sink_collects_nothing(tmp_path: Path) -> None:
    assert ArtifactSink(tmp_path / "never_made").collect() == {}


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../outside", "models/../../x"])
def test_paths_leaving_the_home_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValidationError, match="must be relative and stay inside KTRDR_HOME"):
        relative_path(name)
    with pytest.raises(ValidationError, match="stay inside KTRDR_HOME"):
        write_artifacts(tmp_path, {name: b"x"})
    assert list(tmp_path.iterdir()) == []
