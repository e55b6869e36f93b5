from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from support.report_frames import equity_frame

from ktrdr.errors import NotFoundError, ValidationError
from ktrdr.reports import artifact_path, artifact_paths, encode_artifact


def _operation(path: Path) -> dict:
    return {
        "operation_id": "op_backtesting_1",
        "operation_type": "backtesting",
        "result_summary": {"artifacts": {"equity": str(path)}},
    }


@pytest.fixture
def stored(tmp_path: Path, bars: pd.DataFrame) -> Path:
    path = tmp_path / "equity.parquet"
    equity_frame(bars).to_parquet(path)
    return path


def test_every_format_carries_the_same_rows(stored: Path) -> None:
    original = pd.read_parquet(stored)
    assert pd.read_parquet(io.BytesIO(encode_artifact(stored, "parquet"))).equals(original)
    csv = pd.read_csv(io.BytesIO(encode_artifact(stored, "csv")))
    assert len(csv) == len(original) and "equity" in csv.columns
    records = json.loads(encode_artifact(stored, "json"))
    assert len(records) == len(original)
    assert records[0]["equity"] == pytest.approx(original["equity"].iloc[0])
    assert str(records[0]["index"]).startswith("2018-01-01T00:00:00")


def test_a_bad_format_is_refused_naming_the_formats(stored: Path) -> None:
    with pytest.raises(ValidationError, match="format 'xlsx' is not served; use one of parquet"):
        encode_artifact(stored, "xlsx")


def test_a_name_outside_the_result_is_refused_naming_the_valid_ones(stored: Path) -> None:
    with pytest.raises(NotFoundError, match="no artifact 'model'; its artifacts: equity"):
        artifact_path(_operation(stored), "model", stored.parent)
    assert artifact_path(_operation(stored), "equity", stored.parent) == stored


def test_a_cycle_lists_its_childrens_artifacts(stored: Path) -> None:
    cycle = {
        "operation_type": "agent_research",
        "metadata": {
            "parameters": {
                "training_result": {"artifacts": {"history": "/h.parquet"}},
                "backtest_result": {"artifacts": {"equity": str(stored)}},
                "holdout_op_id": "op_holdout",
            }
        },
    }
    holdout = {"status": "completed", "result_summary": {"artifacts": {"equity": "/x.parquet"}}}
    paths = artifact_paths(cycle, lambda op_id: holdout if op_id == "op_holdout" else None)
    assert paths == {"history": "/h.parquet", "equity": str(stored), "holdout_equity": "/x.parquet"}


@pytest.mark.parametrize("outside", ["/etc/hostname", "/no/such/dir/equity.parquet", "link"])
def test_an_artifact_outside_home_is_refused_without_naming_its_path(
    tmp_path: Path, outside: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    listed = outside
    if outside == "link":  # a link inside home that points out of it
        (home / "equity.parquet").symlink_to("/etc/hostname")
        listed = str(home / "equity.parquet")
    with pytest.raises(NotFoundError) as error:
        artifact_path(_operation(Path(listed)), "equity", home)
    assert (
        str(error.value)
        == "artifact 'equity' of operation op_backtesting_1 lies outside KTRDR_HOME"
    )
    assert "/etc" not in str(error.value.details) and "/no/such" not in str(error.value.details)
