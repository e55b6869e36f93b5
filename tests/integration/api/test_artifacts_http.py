"""GET /operations/{id}/artifacts/{name} refuses files outside KTRDR_HOME without naming them."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("outside", ["/etc/hostname", "/no/such/dir/equity.parquet", "link"])
def test_an_artifact_listed_outside_home_is_404_without_its_path(live_server, outside):
    home = live_server.services.settings.home
    listed = outside
    if outside == "link":  # a link inside home that points out of it
        (home / "equity.parquet").symlink_to("/etc/hostname")
        listed = str(home / "equity.parquet")
    operations = live_server.services.operations
    op_id = operations.create("backtesting").operation_id
    operations.start(op_id)
    operations.complete(op_id, {"artifacts": {"equity": listed}})

    response = httpx.get(f"{live_server.base_url}/api/v1/operations/{op_id}/artifacts/equity")

    assert response.status_code == 404
    assert "lies outside KTRDR_HOME" in response.json()["error"]["message"]
    assert "/etc" not in response.text and "/no/such" not in response.text
