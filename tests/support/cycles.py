"""Research cycles in tests: tiny strategies, lenient gates, triggers and terminal waits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ktrdr.strategy import load_strategy, strategy_to_dict
from support.eventually import eventually
from support.server import ServerProcess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "strategies"
LENIENT_GATES = {
    "training_min_accuracy": 0.0,
    "training_max_loss": 100.0,
    "training_min_loss_decrease": -100.0,
    "training_min_skill": -1.0,
    "training_min_log_loss_skill": -100.0,
    "backtest_min_trades": 0,
    "backtest_min_win_rate": 0.0,
    "backtest_max_drawdown": 1.0,
    "backtest_min_sharpe": -1000.0,
}
CYCLE_TIMEOUT = 240.0
TERMINAL = {"completed", "failed", "cancelled"}


def write_quick_strategy(
    home: Path, name: str = "quick_eurusd", epochs: int = 3, symbol: str = "EURUSD"
) -> str:
    """The EURUSD example with a tiny model and ``epochs`` epochs, in the server's catalog;
    for another ``symbol`` without the example's date range (its research window instead)."""
    data = strategy_to_dict(load_strategy(EXAMPLES / "eurusd_rsi_macd_mlp.yaml"))
    data["name"] = name
    if symbol != "EURUSD":
        data["training_data"]["symbols"] = {"mode": "single", "symbol": symbol}
        data["training_data"].pop("date_range", None)
    data["model"]["architecture"]["hidden_layers"] = [8]
    data["decisions"]["confidence_threshold"] = 0.34  # a tiny model is rarely confident
    data["training"].update({"epochs": epochs, "early_stopping": {"patience": epochs}})
    folder = home / "strategies"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return name


def write_quick_portfolio_strategy(home: Path, name: str = "quick_indices") -> str:
    """The pooled SP500 + NASDAQ example (multi-symbol, exits from its triple-barrier labels)
    with a tiny model, 2 folds of 1 seed and 2 epochs, over the data sets' research windows."""
    data = strategy_to_dict(load_strategy(EXAMPLES / "sp500_nasdaq_pooled_mlp.yaml"))
    data["name"] = name
    data["training_data"].pop("date_range", None)
    data["model"]["architecture"]["hidden_layers"] = [8]
    data["decisions"]["confidence_threshold"] = 0.34
    data["training"].update({"epochs": 2, "early_stopping": {"patience": 2}})
    data["evaluation"] = {"folds": 2, "seeds": 1}
    folder = home / "strategies"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return name


def trigger(server: ServerProcess, **body: Any) -> str:
    """Trigger a cycle with lenient gates; its research operation id."""
    response = server.post("/agent/trigger", {"gates": LENIENT_GATES, **body})
    assert response.status_code == 202, response.text
    assert response.json()["triggered"] is True
    return response.json()["operation_id"]


def finished(server: ServerProcess, operation_id: str) -> dict[str, Any]:
    """The operation once it is terminal."""
    return eventually(
        lambda: (op := server.operation(operation_id))["status"] in TERMINAL and op,
        f"operation {operation_id} ends",
        timeout=CYCLE_TIMEOUT,
    )
