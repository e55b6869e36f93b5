"""Logging for the entry points (`ktrdr serve`, worker processes); library code only logs."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

CONTEXT_FIELDS = ("operation_id",)
TEXT_FORMAT = "%(asctime)s %(levelname)-7s [%(process)d] %(name)s: %(message)s"
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
OPERATION_ID = re.compile(r"\bop_[a-z_]+_\d{8}_\d{6}_[0-9a-f]{8}\b")


def escape_control(text: str) -> str:
    """``text`` with control characters written as escapes: ``a\nb`` -> ``a\\nb``."""
    return CONTROL_CHARACTERS.sub(
        lambda match: match.group().encode("unicode_escape").decode(), text
    )


class TextFormatter(logging.Formatter):
    """The text format, one line per message: a newline in a value cannot forge a record."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        """Render the message part with its control characters escaped."""
        record.message = escape_control(record.message)
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (+ operation_id, exception)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", log_format: Literal["text", "json"] = "text") -> None:
    """Send every log record (ktrdr's and uvicorn's) to stderr as text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    install_log_record_factory()
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def operation_id_of(record: logging.LogRecord) -> str | None:
    """The operation a log record is about: the first operation id among its arguments."""
    args = record.args if isinstance(record.args, tuple) else ()
    for arg in args:
        if isinstance(arg, str) and OPERATION_ID.fullmatch(arg):
            return arg
    return None


def install_log_record_factory() -> None:
    """Give every log record an ``operation_id`` attribute when it concerns an operation."""
    current = logging.getLogRecordFactory()
    if getattr(current, "ktrdr_operation_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        operation_id = operation_id_of(record)
        if operation_id is not None and not hasattr(record, "operation_id"):
            record.operation_id = operation_id
        return record

    factory.ktrdr_operation_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
