"""``ktrdr.Client``: the ktrdr API from Python, for notebooks and scripts (DESIGN §13)."""

from __future__ import annotations

import io
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd

from ktrdr.client.http import DEFAULT_TIMEOUT_SECONDS, ApiClient, ApiError
from ktrdr.client.results import Operation, Report, Rows
from ktrdr.reports import artifact_paths, figure_artifact_names, operation_figure
from ktrdr.reports.links import report_path
from ktrdr.settings import Settings

if TYPE_CHECKING:
    import plotly.graph_objects as go

POLL_SECONDS = 0.5


class Client:
    """What the CLI does, as methods: results show as tables, figures and reports in a notebook.

    ``url`` and ``token`` default to the CLI's settings (``KTRDR_API_URL``,
    ``KTRDR_API_TOKEN``). A failed request raises :class:`ktrdr.client.ApiError`, whose text is
    the API's one-line message. Methods that start work (``research``, ``train``,
    ``backtest``) wait for the operation to end unless ``wait=False``.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        settings = Settings()
        self._api = ApiClient(
            url or settings.api_url,
            token=settings.api_token if token is None else token,
            timeout=timeout,
        )

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._api.base_url

    def health(self) -> dict[str, Any]:
        """The server's health answer (status, version, store, workers)."""
        return self._api.get("/health")["data"]

    def data(self) -> Rows:
        """The stored data sets: symbol, timeframe, bars, first and last bar."""
        return Rows(self._api.get("/data")["data"])

    def data_windows(self) -> Rows:
        """Each data set's research window and sealed holdout start."""
        return Rows(self._api.get("/data/windows")["data"])

    def strategies(self) -> Rows:
        """The strategy catalog."""
        return Rows(self._api.get("/strategies")["data"])

    def operations(
        self,
        *,
        operation_type: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> Rows:
        """Operations newest first, optionally of one type or status."""
        params = {"operation_type": operation_type, "status": status, "limit": limit}
        return Rows(self._api.get("/operations", params)["data"])

    def operation(self, operation_id: str) -> Operation:
        """One operation, with its progress and (once completed) its result."""
        data = self._api.get(_operation_path(operation_id))["data"]
        return Operation(data, self._figure, self.report)

    def wait(self, operation_id: str, *, timeout: float | None = None) -> Operation:
        """Poll the operation until it ends; TimeoutError after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            operation = self.operation(operation_id)
            if operation.done:
                return operation
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"operation {operation_id} is still {operation.status} after {timeout:g} s"
                )
            time.sleep(POLL_SECONDS)

    def cancel(self, operation_id: str) -> list[str]:
        """Cancel an operation and its active descendants; the ids cancelled."""
        return self._api.delete(_operation_path(operation_id))["data"]["cancelled"]

    def research(
        self,
        *,
        strategy: str | None = None,
        designer: str | None = None,
        assessor: str | None = None,
        symbol: str | None = None,
        timeframe: str | None = None,
        brief: str | None = None,
        gates: dict[str, float] | None = None,
        model: str | None = None,
        wait: bool = True,
    ) -> Operation:
        """Start a research cycle (``ktrdr agent trigger``); the cycle, ended unless wait=False.
        ``model``: the designer's LLM model or alias (``--model``)."""
        body = {
            "strategy": strategy,
            "designer": designer,
            "model": model,
            "assessor": assessor,
            "symbol": symbol,
            "timeframe": timeframe,
            "brief": brief,
            "gates": gates,
        }
        started = self._api.post("/agent/trigger", _present(body))
        return self._started(started["operation_id"], wait)

    def train(
        self,
        strategy: str | dict[str, Any],
        *,
        symbols: list[str] | None = None,
        timeframes: list[str] | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        seed: int | None = None,
        wait: bool = True,
    ) -> Operation:
        """Train a strategy (catalog name or dict) as ``ktrdr train`` does."""
        body = {
            "strategy": strategy,
            "symbols": symbols,
            "timeframes": timeframes,
            "start_date": start_date,
            "end_date": end_date,
            "seed": seed,
        }
        started = self._api.post("/training/start", _present(body))
        return self._started(started["data"]["operation_id"], wait)

    def backtest(
        self,
        model_path: str,
        *,
        symbol: str | None = None,
        timeframe: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        mode: str | None = None,
        allow_in_sample: bool = False,
        wait: bool = True,
    ) -> Operation:
        """Backtest a model bundle (or a strategy's newest model) as ``ktrdr backtest`` does."""
        body = {
            "model_path": model_path,
            "symbol": symbol,
            "timeframe": timeframe,
            "start_date": start_date,
            "end_date": end_date,
            "mode": mode,
            "allow_in_sample": allow_in_sample or None,
        }
        started = self._api.post("/backtests/start", _present(body))
        return self._started(started["data"]["operation_id"], wait)

    def status(self) -> dict[str, Any]:
        """The active research cycles and the last finished one (``ktrdr agent status``)."""
        return self._api.get("/agent/status")

    def experiments(self, limit: int = 20) -> Rows:
        """Past experiments newest first: metrics, statistics, gates and verdict."""
        return Rows(self._api.get("/agent/history", {"limit": limit})["experiments"])

    def compare(self, first: str, second: str) -> pd.DataFrame:
        """Two operations' headline numbers side by side (e.g. two research cycles)."""
        frames = [self.operation(first).to_frame(), self.operation(second).to_frame()]
        return pd.concat(frames, axis=1)

    def holdout_evaluations(self) -> Rows:
        """Every look at a sealed holdout: model, data set, verdict, looks."""
        return Rows(self._api.get("/holdout/evaluations")["data"])

    def report(self, operation_id: str) -> Report:
        """The operation's HTML report; shows inline in a notebook, ``.save(path)`` writes it."""
        content = self._api.get_content(report_path(operation_id))
        return Report(operation_id, content.decode("utf-8"))

    def artifact(self, operation_id: str, name: str) -> pd.DataFrame:
        """One of the operation's artifacts (trades, equity, ...) as a DataFrame."""
        path = f"{_operation_path(operation_id)}/artifacts/{quote(name, safe='')}"
        content = self._api.get_content(path, {"format": "parquet"})
        return pd.read_parquet(io.BytesIO(content))

    def close(self) -> None:
        """Close the connection pool."""
        self._api.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    def _started(self, operation_id: str, wait: bool) -> Operation:
        return self.wait(operation_id) if wait else self.operation(operation_id)

    def _figure(self, operation: Operation) -> go.Figure:
        """Fetch the figure's artifacts the operation has; operation_figure says what is missing
        (a training without a history artifact falls back to its result's)."""
        listed = artifact_paths(operation.data)
        artifacts = {}
        for name in figure_artifact_names(operation.data):
            if name not in listed:
                continue
            try:
                artifacts[name] = self.artifact(operation.id, name)
            except ApiError as exc:
                if exc.status_code != 404:  # listed but its file is gone: draw without it
                    raise
        return operation_figure(operation.data, artifacts)


def _operation_path(operation_id: str) -> str:
    return f"/operations/{quote(operation_id, safe='')}"


def _present(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}
