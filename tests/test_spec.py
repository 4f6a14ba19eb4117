"""What our client sends and what the simulator answers must both match Ozon's OpenAPI document
(the schemas of the methods we use, copied into tests/fixtures by scripts/extract_openapi_subset.py)."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema
import pytest

from monitor.ozon.endpoints import GET_METHODS
from monitor.simulator import SimulatorServer

SPEC = json.loads((Path(__file__).parent / "fixtures" / "ozon_openapi_subset.json").read_text(encoding="utf-8"))


def validator(method: str, part: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({**SPEC["methods"][method][part], "definitions": SPEC["definitions"]})


@pytest.fixture
def recorded(synced_world) -> list[tuple[str, dict]]:
    """Every request of a first sync (the shared synced world's), as the client sent it."""
    return synced_world.first_sync


def test_every_method_we_call_is_in_the_spec_fixture(recorded: list[tuple[str, dict]]) -> None:
    assert {method for method, _ in recorded} == set(SPEC["methods"])


def test_every_request_the_client_sends_matches_the_spec(recorded: list[tuple[str, dict]]) -> None:
    for method, body in recorded:
        errors = [e.message for e in validator(method, "request").iter_errors(body)]
        assert errors == [], f"{method}: {errors}"


def test_every_simulator_response_matches_the_spec(recorded: list[tuple[str, dict]], simulator: SimulatorServer) -> None:
    headers = {"Client-Id": "123456", "Api-Key": "demo-key"}
    for method, body in recorded:
        answer = (httpx.get(simulator.base_url + method, headers=headers) if method in GET_METHODS else
                  httpx.post(simulator.base_url + method, json=body, headers=headers)).json()
        errors = [f"{list(e.path)}: {e.message}" for e in validator(method, "response").iter_errors(answer)]
        assert errors == [], f"{method}: {errors[:5]}"


def test_simulator_rejects_what_ozon_rejects(simulator: SimulatorServer) -> None:
    url = simulator.base_url + "/v4/posting/fbs/list"
    good = {"Client-Id": "123456", "Api-Key": "demo-key"}
    body = {"filter": {"since": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}, "limit": 100}
    assert httpx.post(url, json=body, headers={**good, "Api-Key": "wrong"}).status_code == 404
    assert httpx.post(url, json=body, headers={**good, "Client-Id": "abc"}).json()["code"] == 3
    assert httpx.post(url, json={**body, "limit": 1000}, headers=good).status_code == 400
    assert httpx.post(url, json={"limit": 10}, headers=good).status_code == 400
    assert httpx.post(simulator.base_url + "/v3/posting/fbs/list", json=body, headers=good).status_code == 404
    assert httpx.post(simulator.base_url + "/v1/actions", json={}, headers=good).status_code == 405
