"""Pieces of the training result summary: ensemble training metrics and fold means."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ktrdr.training.ensemble import MemberOutcome

HISTORY_KEYS = ("train_loss", "val_loss", "val_accuracy")


def ensemble_training_metrics(outcomes: Sequence[MemberOutcome]) -> dict[str, Any]:
    """DESIGN §8 ``training_metrics`` of an ensemble, plus each member's own figures.

    ``history`` is the members' mean per epoch, a member that stopped early counted with its last
    epoch's values (so the first and final epochs average the same members, as the training
    gate's loss-decrease check compares them); ``epochs_run`` is the longest member's,
    ``best_epoch`` the latest epoch any member's restored weights come from.
    """
    epochs_run = max(o.epochs_run for o in outcomes)
    ran = [o for o in outcomes if o.epochs_run]
    history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
    for epoch in range(epochs_run):
        for key in HISTORY_KEYS:
            values = [o.history[key][min(epoch, o.epochs_run - 1)] for o in ran]
            history[key].append(float(np.mean(values)))
    best = [o.best_epoch for o in outcomes if o.best_epoch is not None]
    return {
        "epochs_run": epochs_run,
        "history": history,
        "final_train_loss": history["train_loss"][-1] if epochs_run else None,
        "best_epoch": max(best) if best else None,
        "members": [
            {
                "seed": o.seed,
                "epochs_run": o.epochs_run,
                "best_epoch": o.best_epoch,
                "best_val_loss": o.best_val_loss,
            }
            for o in outcomes
        ],
    }


def history_frame(models: Sequence[tuple[str, Sequence[MemberOutcome]]]) -> pd.DataFrame:
    """Every model's per-epoch ensemble history, one row per (model, epoch), for the report.

    ``models`` pairs a name (``"fold 1"``, ``"final"``) with its members' outcomes; the values
    are :func:`ensemble_training_metrics`' ``history`` (the members' mean per epoch).
    """
    rows = []
    for name, outcomes in models:
        history = ensemble_training_metrics(outcomes)["history"]
        columns = [history[key] for key in HISTORY_KEYS]
        for epoch, values in enumerate(zip(*columns, strict=True), start=1):
            rows.append((name, epoch, *values))
    return pd.DataFrame(rows, columns=["model", "epoch", *HISTORY_KEYS])


def mean_metrics(per_fold: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The mean over folds of every numeric key, nested dicts included (e.g. per_class)."""
    first = per_fold[0]
    mean: dict[str, Any] = {}
    for key, value in first.items():
        if isinstance(value, Mapping):
            mean[key] = mean_metrics([fold[key] for fold in per_fold])
        elif isinstance(value, int | float) and not isinstance(value, bool):
            mean[key] = float(np.mean([fold[key] for fold in per_fold]))
    return mean
