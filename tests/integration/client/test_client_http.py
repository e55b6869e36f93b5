"""``ktrdr.Client`` against a real server on a free port: listings, errors, defaults."""

from __future__ import annotations

import pytest

import ktrdr
from ktrdr.client import ApiError, Client
from ktrdr.errors import ValidationError


def test_the_client_lists_data_operations_and_reads_one_operation(live_server):
    operations = live_server.services.operations
    op_id = operations.create("training", metadata={"symbol": "EURUSD"}).operation_id

    with Client(live_server.base_url) as client:
        listed = client.operations(operation_type="training")
        operation = client.operation(op_id)
        data = client.data()

    assert [row["operation_id"] for row in listed] == [op_id]
    assert operation.status == "pending" and not operation.done
    assert isinstance(data.to_frame().shape, tuple)


def test_an_unknown_operation_raises_the_apis_one_line_message(live_server):
    with Client(live_server.base_url) as client, pytest.raises(ApiError) as error:
        client.operation("op_nope")

    assert error.value.status_code == 404
    assert "op_nope" in str(error.value)


def test_a_report_of_an_unknown_operation_raises_the_apis_envelope_message(live_server):
    with Client(live_server.base_url) as client, pytest.raises(ApiError) as error:
        client.report("op_nope")

    assert error.value.status_code == 404


def test_url_and_token_default_to_the_cli_settings(monkeypatch, start_live_server):
    server = start_live_server(api_token="s3cret")
    monkeypatch.setenv("KTRDR_API_URL", server.base_url)
    monkeypatch.setenv("KTRDR_API_TOKEN", "s3cret")

    with ktrdr.Client() as client:
        assert client.url == server.base_url
        assert client.operations() == []
    with Client(server.base_url, token="wrong") as client, pytest.raises(ApiError) as error:
        client.operations()
    assert error.value.status_code == 401


def test_a_server_that_is_not_there_is_named_in_the_error():
    with Client("http://127.0.0.1:9", timeout=2) as client, pytest.raises(ApiError) as error:
        client.health()

    assert "cannot reach the ktrdr API at http://127.0.0.1:9" in str(error.value)


def _finished(live_server, kind: str, result: dict, **metadata) -> str:
    operations = live_server.services.operations
    op_id = operations.create(kind, metadata=metadata).operation_id
    operations.start(op_id)
    operations.complete(op_id, result)
    return op_id


def test_a_training_without_its_history_artifact_draws_the_results_history(live_server):
    history = {"train_loss": [1.0, 0.8], "val_loss": [1.1, 0.9]}
    gone = str(live_server.services.settings.home / "training" / "gone" / "history.parquet")
    without = _finished(live_server, "training", {"training_metrics": {"history": history}})
    deleted = _finished(
        live_server,
        "training",
        {"training_metrics": {"history": history}, "artifacts": {"history": gone}},
    )

    with Client(live_server.base_url) as client:
        figures = [client.operation(op_id).figure() for op_id in (without, deleted)]

    assert all(list(figure.data[0].y) == [1.0, 0.8] for figure in figures)


def test_a_cycle_stopped_at_a_gate_has_no_figure_and_says_why(live_server):
    cycle = _finished(live_server, "agent_research", {}, parameters={"strategy_name": "a"})

    with Client(live_server.base_url) as client, pytest.raises(ValidationError) as error:
        client.operation(cycle).figure()

    assert "needs the equity artifact" in str(error.value)
    assert "the artifacts its result lists: none" in str(error.value)
