"""The fold table: what a user sees of a walk-forward training and its backtest."""

from __future__ import annotations

from rich.console import Console

from ktrdr.cli.folds import fold_table

TRAINING = {
    "walk_forward": {
        "scheme": "anchored",
        "seeds": [42, 43, 44],
        "folds": [
            {
                "fold": 1,
                "train_start": "2018-05-28T06:00:00+00:00",
                "train_end": "2019-11-25T11:00:00+00:00",
                "test_start": "2019-11-26T02:00:00+00:00",
                "test_end": "2020-04-11T23:00:00+00:00",
                "test_metrics": {"test_accuracy": 0.3272, "test_loss": 1.0931},
            },
            {
                "fold": 2,
                "train_start": "2018-05-28T06:00:00+00:00",
                "train_end": "2020-04-10T08:00:00+00:00",
                "test_start": "2020-04-11T01:00:00+00:00",
                "test_end": "2020-08-26T16:00:00+00:00",
                "test_metrics": {"test_accuracy": 0.3786, "test_loss": 1.0512},
            },
        ],
    }
}
BACKTEST = {
    "folds": [
        {"fold": 1, "metrics": {"total_return": -0.2738, "sharpe_ratio": -0.44, "total_trades": 2}},
        {"fold": 2, "metrics": {"total_return": 0.0154, "sharpe_ratio": 0.87, "total_trades": 1}},
    ],
    "seed_sharpes": [0.57, 0.31, 1.39],
}


def rendered(table: object) -> str:
    console = Console(record=True, width=160)
    console.print(table)
    return console.export_text()


def test_each_fold_shows_its_spans_test_metrics_and_backtest() -> None:
    text = rendered(fold_table(TRAINING, BACKTEST))
    assert "ensemble of 3 seeds: 42, 43, 44" in text
    assert "2018-05-28..2019-11-25" in text and "2019-11-26..2020-04-11" in text
    assert "32.72%" in text and "1.0931" in text and "-27.38%" in text and "-0.44" in text
    assert "each seed's stitched Sharpe: 0.57, 0.31, 1.39" in text


def test_a_training_alone_shows_no_backtest_columns() -> None:
    text = rendered(fold_table(TRAINING))
    assert "37.86%" in text
    assert "Sharpe" not in text and "Return" not in text


def test_a_single_split_has_no_fold_table() -> None:
    single = {"walk_forward": {"scheme": "single_split", "seeds": [7], "folds": []}}
    assert fold_table(single) is None
    assert fold_table({}) is None
