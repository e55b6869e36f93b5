"""The services the routers call, built once per app from the settings."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol

from ktrdr.operations import OperationsService, OperationsStore
from ktrdr.settings import Settings


class ReportsStatus(Protocol):
    """A component that can describe its own health (e.g. a job executor)."""

    def status(self) -> dict[str, Any]:
        """A JSON-able description of the component's state."""
        ...


@dataclass
class Services:
    """The long-lived services of one API process; add a service as one more field."""

    settings: Settings
    operations: OperationsService
    executor: ReportsStatus | None = None

    def close(self) -> None:
        """Release what the services hold: the store's connections, then every closable service."""
        self.operations.store.dispose()
        for field in fields(self):
            close = getattr(getattr(self, field.name), "close", None)
            if callable(close):
                close()


def build_services(settings: Settings) -> Services:
    """Open the store at ``settings.resolved_database_url``, creating ``KTRDR_HOME`` first."""
    settings.home.mkdir(parents=True, exist_ok=True)
    store = OperationsStore.from_url(settings.resolved_database_url)
    operations = OperationsService(store, progress_min_interval=settings.progress_min_interval)
    return Services(settings=settings, operations=operations)
