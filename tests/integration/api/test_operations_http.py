"""The operations endpoints over real HTTP against a real store."""

from __future__ import annotations

import httpx
import pytest

from ktrdr.errors import InvalidTransitionError

API = "/api/v1"


def _get(server, path: str, **params) -> httpx.Response:
    return httpx.get(f"{server.base_url}{API}{path}", params=params)


def _delete(server, path: str) -> httpx.Response:
    return httpx.delete(f"{server.base_url}{API}{path}")


def _running(services, operation_type: str, parent: str | None = None) -> str:
    operation = services.operations.create(operation_type, parent_operation_id=parent)
    services.operations.start(operation.operation_id)
    return operation.operation_id


def test_empty_store_lists_exactly_the_empty_envelope(live_server):
    response = _get(live_server, "/operations")

    assert response.status_code == 200
    assert response.json() == {"success": True, "data": [], "total_count": 0}


def test_health_reports_store_and_no_executor(live_server):
    body = _get(live_server, "/health").json()

    assert body["success"] is True
    assert body["data"]["status"] == "ok"
    assert body["data"]["store"] == {"ok": True, "backend": "sqlite"}
    assert body["data"]["executor"] is None
    assert body["data"]["version"]


def test_round_trip_create_start_progress_complete_is_seen_over_http(live_server):
    operations = live_server.services.operations
    op_id = operations.create("training", metadata={"symbol": "EURUSD"}).operation_id
    assert _get(live_server, f"/operations/{op_id}").json()["data"]["status"] == "pending"

    operations.start(op_id)
    operations.update_progress(op_id, percentage=40, current_step="epoch 4/10", force=True)
    running = _get(live_server, f"/operations/{op_id}").json()["data"]
    assert running["status"] == "running"
    assert running["progress"]["percentage"] == 40.0
    assert running["progress"]["current_step"] == "epoch 4/10"
    assert running["metadata"]["symbol"] == "EURUSD"

    operations.complete(op_id, {"accuracy": 0.61})
    done = _get(live_server, f"/operations/{op_id}").json()["data"]
    assert done["status"] == "completed"
    assert done["result_summary"] == {"accuracy": 0.61}
    assert done["progress"]["percentage"] == 100.0
    assert done["duration_seconds"] >= 0.0
    listed = _get(live_server, "/operations", operation_type="training").json()
    assert [op["operation_id"] for op in listed["data"]] == [op_id]
    assert listed["total_count"] == 1


def test_list_filters_by_status_and_active_only_and_pages(live_server):
    operations = live_server.services.operations
    running = [_running(live_server.services, "backtesting") for _ in range(3)]
    pending = operations.create("data_import").operation_id
    operations.cancel(running[0])

    active = _get(live_server, "/operations", active_only="true").json()
    cancelled = _get(live_server, "/operations", status="cancelled").json()
    page = _get(live_server, "/operations", limit=2, offset=1).json()

    assert {op["operation_id"] for op in active["data"]} == {*running[1:], pending}
    assert [op["operation_id"] for op in cancelled["data"]] == [running[0]]
    assert len(page["data"]) == 2
    assert page["total_count"] == 4


def test_cancel_of_a_parent_cancels_running_child_and_grandchild_in_one_call(live_server):
    services = live_server.services
    parent = _running(services, "agent_research")
    child = _running(services, "training", parent=parent)
    grandchild = _running(services, "data_import", parent=child)

    response = _delete(live_server, f"/operations/{parent}")

    assert response.status_code == 200
    assert response.json()["success"] is True
    assert sorted(response.json()["data"]["cancelled"]) == sorted([parent, child, grandchild])
    for op_id in (parent, child, grandchild):
        assert _get(live_server, f"/operations/{op_id}").json()["data"]["status"] == "cancelled"
        assert services.operations.is_cancelled(op_id)


def test_a_late_completion_of_a_cancelled_operation_is_refused(live_server):
    operations = live_server.services.operations
    op_id = _running(live_server.services, "training")
    assert _delete(live_server, f"/operations/{op_id}").status_code == 200

    with pytest.raises(InvalidTransitionError):
        operations.complete(op_id, {"accuracy": 0.9})

    body = _get(live_server, f"/operations/{op_id}").json()["data"]
    assert body["status"] == "cancelled"
    assert body["result_summary"] is None


def test_a_failed_operation_shows_its_failure_code_over_http(live_server):
    op_id = _running(live_server.services, "training")
    live_server.services.operations.fail(op_id, "lost: server restarted", code="orphaned")

    body = _get(live_server, f"/operations/{op_id}").json()["data"]

    assert body["status"] == "failed"
    assert body["error_message"] == "lost: server restarted"
    assert body["error_code"] == "orphaned"


def test_cancelling_a_finished_operation_is_a_409_envelope(live_server):
    operations = live_server.services.operations
    op_id = _running(live_server.services, "backtesting")
    operations.complete(op_id, {})

    response = _delete(live_server, f"/operations/{op_id}")

    assert response.status_code == 409
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "invalid_transition"
    assert op_id in body["error"]["message"]


def test_children_lists_only_direct_children(live_server):
    services = live_server.services
    parent = _running(services, "agent_research")
    child = _running(services, "training", parent=parent)
    _running(services, "data_import", parent=child)

    body = _get(live_server, f"/operations/{parent}/children").json()

    assert [op["operation_id"] for op in body["data"]] == [child]
    assert body["data"][0]["parent_operation_id"] == parent


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/operations/nope"),
        ("GET", "/operations/nope/children"),
        ("DELETE", "/operations/nope"),
    ],
)
def test_unknown_operation_is_a_404_envelope(live_server, method, path):
    response = httpx.request(method, f"{live_server.base_url}{API}{path}")

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": {
            "code": "not_found",
            "message": "operation 'nope' not found",
            "details": {"operation_id": "nope"},
        },
    }


@pytest.mark.parametrize(
    ("params", "parameter", "fragment"),
    [
        ({"status": "bogus"}, "status", "must be one of pending, running, completed, failed"),
        ({"operation_type": "cooking"}, "operation_type", "must be one of agent_research"),
        ({"active_only": "maybe"}, "active_only", "bool"),
        ({"limit": 0}, "limit", "greater than or equal to 1"),
        ({"limit": 1001}, "limit", "less than or equal to 1000"),
        ({"offset": -1}, "offset", "greater than or equal to 0"),
        ({"limit": "ten"}, "limit", "integer"),
    ],
)
def test_bad_list_parameters_are_422_envelopes_naming_the_parameter(
    live_server, params, parameter, fragment
):
    response = _get(live_server, "/operations", **params)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith(f"{parameter}: ")
    assert fragment in error["message"]
    assert error["details"]["errors"][0]["parameter"] == parameter


def test_unknown_route_and_wrong_method_are_envelopes(live_server):
    missing = _get(live_server, "/nowhere")
    wrong_method = httpx.put(f"{live_server.base_url}{API}/operations/x")

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_openapi_and_docs_are_served_under_the_prefix(live_server):
    schema = _get(live_server, "/openapi.json").json()

    assert f"{API}/operations/{{operation_id}}" in schema["paths"]
    assert f"{API}/health" in schema["paths"]
    assert _get(live_server, "/docs").status_code == 200
