"""Atomic writes: the target is whole or untouched, and no temporary file is left behind."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ktrdr.files import write_atomically, write_bytes_atomically, write_text_atomically


def test_write_bytes_and_text_replace_the_file_and_create_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.txt"
    assert write_bytes_atomically(target, b"old") == target
    write_text_atomically(target, "neu €")
    assert target.read_text(encoding="utf-8") == "neu €"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.txt"]


def test_callback_writes_through_a_temporary_path(tmp_path: Path) -> None:
    target = tmp_path / "bars.parquet"
    frame = pd.DataFrame({"close": [1.0, 2.0]})
    write_atomically(target, frame.to_parquet)
    pd.testing.assert_frame_equal(pd.read_parquet(target), frame)
    assert [p.name for p in tmp_path.iterdir()] == ["bars.parquet"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    target.write_bytes(b"old contents")

    def half_write(temporary: Path) -> None:
        temporary.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, half_write)
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]


def test_unencodable_text_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "strategy.yaml"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomically(target, "\udcff", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["strategy.yaml"]


def test_write_that_never_creates_the_file_fails_and_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "assessment.json"
    target.write_text("{}", encoding="utf-8")
    with pytest.raises(FileNotFoundError):
        write_atomically(target, lambda temporary: None)
    assert target.read_text(encoding="utf-8") == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["assessment.json"]
