"""JSON log lines for KTRDR_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
import sys

from ktrdr.logging_setup import TEXT_FORMAT, JsonFormatter, TextFormatter, configure_logging


def _record(**extra) -> logging.LogRecord:
    record = logging.LogRecord("ktrdr.training", logging.INFO, __file__, 1, "epoch %d", (3,), None)
    record.__dict__.update(extra)
    return record


def test_json_formatter_writes_one_object_with_the_operation_id():
    line = JsonFormatter().format(_record(operation_id="op_training_x"))

    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "epoch 3"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "ktrdr.training"
    assert entry["operation_id"] == "op_training_x"


def test_json_formatter_keeps_the_traceback():
    try:
        raise ValueError("bad bar")
    except ValueError:
        record = logging.LogRecord("ktrdr", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())

    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad bar" in entry["exception"]


def test_configure_logging_json_routes_records_to_stderr(capsys):
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging("INFO", "json")
        logging.getLogger("ktrdr.test").info("hello %s", "world")
        err = capsys.readouterr().err
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)

    assert json.loads(err.strip().splitlines()[-1])["message"] == "hello world"


def test_text_formatter_escapes_newlines_so_a_value_cannot_forge_a_record():
    record = logging.LogRecord(
        "ktrdr.api", logging.INFO, __file__, 1, "import of %s", ("a.csv\nERROR forged",), None
    )

    line = TextFormatter(TEXT_FORMAT).format(record)

    assert "\n" not in line
    assert line.endswith("import of a.csv\\nERROR forged")
