"""``ktrdr.Client`` against a real server on a free port: listings, errors, defaults."""

from __future__ import annotations

import pytest

import ktrdr
from ktrdr.client import ApiError, Client


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
