"""The training page: loss and accuracy per epoch, folds, confusion matrix, labels, features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ktrdr.reports.figures.training import (
    FINAL_MODEL,
    HISTORY_COLUMNS,
    confusion_figure,
    label_distribution_figure,
    loss_curves_figure,
)
from ktrdr.reports.formatting import day, decimal, percent, whole
from ktrdr.reports.html import Page, cards, note, table


def epoch_history(
    summary: Mapping[str, Any], artifacts: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Per-epoch history: the ``history`` artifact, else the final model's from the summary."""
    stored = artifacts.get("history")
    if stored is not None:
        return stored
    history = (summary.get("training_metrics") or {}).get("history") or {}
    epochs = len(history.get("train_loss") or [])
    return pd.DataFrame(
        {
            "model": [FINAL_MODEL] * epochs,
            "epoch": np.arange(1, epochs + 1),
            **{key: history.get(key) or [np.nan] * epochs for key in HISTORY_COLUMNS[2:]},
        }
    )


def learning_curves(
    page: Page, summary: Mapping[str, Any], artifacts: Mapping[str, pd.DataFrame]
) -> str:
    """The loss and accuracy curves (shared by the training and cycle pages); "" without epochs."""
    history = epoch_history(summary, artifacts)
    return page.figure(loss_curves_figure(history)) if len(history) else ""


def confusion_matrix(summary: Mapping[str, Any]) -> tuple[np.ndarray, list[str], str] | None:
    """The out-of-sample confusion counts (folds summed) and class names, or None if unstored."""
    folds = (summary.get("walk_forward") or {}).get("folds") or []
    stored = [(fold.get("test_metrics") or {}).get("confusion") for fold in folds]
    title = "Confusion matrix over all out-of-sample fold slices"
    if not folds or not all(stored):
        stored = [(summary.get("test_metrics") or {}).get("confusion")]
        title = "Confusion matrix on the test split"
    if not all(stored):
        return None
    labels = list(stored[0])
    total = sum(
        np.array([[matrix[t][p] for p in labels] for t in labels], dtype=np.float64)
        for matrix in stored
    )
    return np.asarray(total), labels, title


def training_metric_cards(summary: Mapping[str, Any]) -> str:
    """The headline numbers of a training as cards."""
    test = summary.get("test_metrics") or {}
    training = summary.get("training_metrics") or {}
    samples = summary.get("n_samples") or {}
    scope = "mean over folds" if summary.get("walk_forward", {}).get("folds") else "test split"
    return cards(
        [
            ("test accuracy", percent(test.get("test_accuracy"), 1), scope),
            ("balanced accuracy", percent(test.get("balanced_accuracy"), 1), scope),
            ("test loss", decimal(test.get("test_loss"), 3), scope),
            ("macro F1", decimal(test.get("f1"), 3), scope),
            ("epochs run", whole(training.get("epochs_run")), "final model"),
            ("best epoch", whole(training.get("best_epoch")), "final model"),
            ("samples", whole(sum(v for v in samples.values() if isinstance(v, int))),
             " / ".join(f"{k} {whole(v)}" for k, v in samples.items())),
            ("device", str(summary.get("device") or "—")),
        ]
    )  # fmt: skip


def training_folds_table(folds: Sequence[Mapping[str, Any]]) -> str:
    """Each fold's training span, out-of-sample slice and test metrics."""
    rows = []
    for fold in folds:
        test = fold.get("test_metrics") or {}
        rows.append((
            fold["fold"], f"{day(fold.get('train_start'))} to {day(fold.get('train_end'))}",
            f"{day(fold.get('test_start'))} to {day(fold.get('test_end'))}",
            percent(test.get("test_accuracy"), 1), percent(test.get("balanced_accuracy"), 1),
            decimal(test.get("test_loss"), 3),
        ))  # fmt: skip
    columns = ("fold", "trained on", "tested on", "accuracy", "balanced acc.", "test loss")
    return table(columns, rows, numeric=(True, False, False, True, True, True))


def add_training_sections(
    page: Page, summary: Mapping[str, Any], artifacts: Mapping[str, pd.DataFrame]
) -> None:
    """The training page's sections; the cycle page shows its training with the same parts
    (``training_metric_cards``, ``learning_curves``)."""
    page.section("Training metrics", training_metric_cards(summary))
    curves = learning_curves(page, summary, artifacts)
    if curves:
        page.section("Learning curves", curves)
    folds = (summary.get("walk_forward") or {}).get("folds") or []
    if folds:
        page.section("Walk-forward folds (training)", training_folds_table(folds))
    confusion = confusion_matrix(summary)
    distribution = summary.get("label_distribution") or {}
    parts = []
    if confusion is not None:
        matrix, labels, title = confusion
        parts.append(page.figure(confusion_figure(matrix, labels, title=title)))
    else:
        parts.append(note("This training stored no confusion counts (it predates them)."))
    if distribution:
        parts.append(page.figure(label_distribution_figure(distribution)))
    page.section("Classes", *parts)
    features = summary.get("feature_names") or []
    if features:
        rows = [(number + 1, name) for number, name in enumerate(features)]
        page.section(
            f"Features ({len(features)})",
            note("The model's inputs in bundle order; names are {timeframe}_{set}_{member}."),
            table(("#", "feature"), rows, numeric=(True, False)),
        )


def training_page(operation: Mapping[str, Any], artifacts: Mapping[str, pd.DataFrame]) -> str:
    """The training report of a completed training operation (the JSON of its GET)."""
    summary = operation.get("result_summary") or {}
    metadata = operation.get("metadata") or {}
    parameters = metadata.get("parameters") or {}
    subtitle = " · ".join(
        str(part)
        for part in (
            parameters.get("strategy_name"),
            f"{metadata.get('symbol')} {metadata.get('timeframe')}",
            f"{day(metadata.get('start_date'))} to {day(metadata.get('end_date'))}",
            operation.get("operation_id"),
        )
        if part
    )
    page = Page("Training", subtitle)
    add_training_sections(page, summary, artifacts)
    return page.render()
