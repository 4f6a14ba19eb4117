"""The HTTP client against recorded Ozon answers (respx): paging, retries, typed errors."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest
import respx

from monitor.ozon import endpoints
from tests.conftest import FakeTime
from monitor.ozon.client import (AccessDenied, AuthError, BadRequest, BadResponse, MethodGone, OzonClient,
                                 RateLimited, ServerError)

BASE = "https://api-seller.example"
KEY = "SECRET-KEY-42"
SINCE, TO = datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 2, tzinfo=timezone.utc)


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(time_: FakeTime) -> OzonClient:
    """A client on a fake clock whose jitter is always at its top (backoff = 2 ** attempt)."""
    return OzonClient(BASE, 123456, KEY, retry_budget=60, sleep=time_.sleep, clock=time_.clock, jitter=lambda: 1.0)


def backoffs(time_: FakeTime) -> list[float]:
    return [s for s in time_.sleeps if s > 0.1]  # leave out the 20 ms global pacing


def posting(number: str) -> dict:
    return {"posting_number": number, "status": "delivered", "in_process_at": "2026-11-01T10:00:00Z",
            "products": [{"sku": 1, "offer_id": "A", "quantity": 1, "price": {"amount": "10.00", "currency": "RUB"}}],
            "some_new_field": {"nested": True}}


@respx.mock
def test_fbs_paging_follows_the_cursor_and_sends_auth_headers(client: OzonClient) -> None:
    pages = iter([
        {"postings": [posting("1-1-1"), posting("1-2-1")], "cursor": "c1", "has_next": True},
        {"postings": [posting("1-3-1")], "cursor": "c2", "has_next": True},
        {"postings": [], "cursor": "", "has_next": False},
    ])
    route = respx.post(f"{BASE}/v4/posting/fbs/list").mock(side_effect=lambda req: httpx.Response(200, json=next(pages)))
    numbers = [p.posting_number for page in endpoints.fbs_postings(client, SINCE, TO) for p in page]
    assert numbers == ["1-1-1", "1-2-1", "1-3-1"]
    sent = [call.request for call in route.calls]
    assert [json.loads(r.content)["cursor"] for r in sent] == ["", "c1", "c2"]
    assert sent[0].headers["Client-Id"] == "123456" and sent[0].headers["Api-Key"] == KEY


@respx.mock
def test_cursor_that_does_not_advance_is_a_bad_response(client: OzonClient) -> None:
    respx.post(f"{BASE}/v3/posting/fbo/list").mock(
        return_value=httpx.Response(200, json={"postings": [posting("1")], "cursor": "same", "has_next": True}))
    with pytest.raises(BadResponse, match="cursor did not advance"):
        list(endpoints.fbo_postings(client, SINCE, TO))


@respx.mock
def test_server_errors_are_retried_with_backoff(client: OzonClient, time_: FakeTime) -> None:
    route = respx.post(f"{BASE}/v3/posting/fbo/list").mock(side_effect=[
        httpx.Response(503, json={"code": 14, "message": "unavailable"}),
        httpx.Response(500, json={"code": 13, "message": "internal"}),
        httpx.Response(200, json={"postings": [posting("1")], "has_next": False}),
    ])
    pages = list(endpoints.fbo_postings(client, SINCE, TO))
    assert [p.posting_number for p in pages[0]] == ["1"]
    assert route.call_count == 3
    assert backoffs(time_) == [1.0, 2.0]  # doubles each time


def test_jitter_spreads_the_backoff_between_half_and_all_of_it(time_: FakeTime) -> None:
    low = OzonClient(BASE, 1, KEY, retry_budget=60, sleep=time_.sleep, clock=time_.clock, jitter=lambda: 0.0)
    with respx.mock:
        respx.post(f"{BASE}/v3/posting/fbo/list").mock(side_effect=[httpx.Response(503, json={}),
                                                                     httpx.Response(503, json={}),
                                                                     httpx.Response(200, json={"postings": []})])
        list(endpoints.fbo_postings(low, SINCE, TO))
    assert backoffs(time_) == [0.5, 1.0]


@respx.mock
def test_retry_after_is_honoured_on_429(client: OzonClient, time_: FakeTime, caplog) -> None:
    respx.post(f"{BASE}/v3/posting/fbo/list").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "6.2"}, json={"code": 8, "message": "rate limit"}),
        httpx.Response(200, json={"postings": [], "has_next": False}),
    ])
    list(endpoints.fbo_postings(client, SINCE, TO))
    assert 6.2 in time_.sleeps
    [said] = [r for r in caplog.records if r.msg.startswith("%s; retrying in")]
    assert said.getMessage().endswith("; retrying in 7 s")  # whole seconds, rounded up: a seller reads it


@respx.mock
def test_retries_stop_at_the_time_budget(client: OzonClient, time_: FakeTime) -> None:
    route = respx.post(f"{BASE}/v3/posting/fbo/list").mock(
        return_value=httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(ServerError, match="HTTP 502"):
        list(endpoints.fbo_postings(client, SINCE, TO))
    assert time_.now <= 60
    assert backoffs(time_) == [1.0, 2.0, 4.0, 8.0, 16.0]  # the next wait, 30 s, would overrun the 60 s budget
    assert route.call_count == 6


@respx.mock
def test_timeouts_are_retried_then_reported(client: OzonClient) -> None:
    route = respx.post(f"{BASE}/v3/posting/fbo/list").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ServerError, match="timed out"):
        list(endpoints.fbo_postings(client, SINCE, TO))
    assert route.call_count == 6


@pytest.mark.parametrize("status, body, error", [
    (404, {"code": 5, "message": "Invalid Api-Key, please check the key and try again"}, AuthError),
    (403, {"code": 7, "message": "Api-key is deactivated, use another one or generate a new one"}, AuthError),
    (403, {"code": 7, "message": "Api-Key is missing a required role for a method"}, AccessDenied),
    (403, {"code": 7, "message": "access denied"}, AccessDenied),
    (404, {"code": 5, "message": "Not Found"}, MethodGone),
    (400, {"code": 3, "message": "limit must be between 1 and 100"}, BadRequest),
])
@respx.mock
def test_client_errors_are_typed_and_never_retried(client: OzonClient, status: int, body: dict, error: type) -> None:
    route = respx.post(f"{BASE}/v3/posting/fbo/list").mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(error) as raised:
        list(endpoints.fbo_postings(client, SINCE, TO))
    assert route.call_count == 1
    assert raised.value.method == "/v3/posting/fbo/list"
    assert KEY not in str(raised.value)


@respx.mock
def test_rate_limited_after_budget_is_typed(client: OzonClient) -> None:
    respx.post(f"{BASE}/v3/posting/fbo/list").mock(return_value=httpx.Response(429, json={"message": "slow down"}))
    with pytest.raises(RateLimited):
        list(endpoints.fbo_postings(client, SINCE, TO))


@pytest.mark.parametrize("response, match", [
    (httpx.Response(200, text='{"postings": [{"posting_numb'), "not valid JSON"),
    (httpx.Response(200, json={"postings": [{"status": "delivered"}]}), "postings.0.posting_number"),
    (httpx.Response(200, json={"postings": "nope"}), "postings"),
])
@respx.mock
def test_malformed_responses_are_bad_responses(client: OzonClient, response: httpx.Response, match: str) -> None:
    respx.post(f"{BASE}/v3/posting/fbo/list").mock(return_value=response)
    with pytest.raises(BadResponse, match=match):
        list(endpoints.fbo_postings(client, SINCE, TO))


@respx.mock
def test_analytics_pages_by_offset_and_is_paced_to_one_call_a_minute(client: OzonClient, time_: FakeTime) -> None:
    row = {"dimensions": [{"id": "1", "name": "x"}, {"id": "2026-11-01", "name": ""}], "metrics": [100.0, 2]}
    route = respx.post(f"{BASE}/v1/analytics/data").mock(side_effect=[
        httpx.Response(200, json={"result": {"data": [row] * 1000, "totals": [0, 0]}}),
        httpx.Response(200, json={"result": {"data": [row] * 5, "totals": [0, 0]}}),
    ])
    first = endpoints.analytics_page(client, SINCE.date(), TO.date(), ["sku", "day"], endpoints.BASIC_METRICS)
    second = endpoints.analytics_page(client, SINCE.date(), TO.date(), ["sku", "day"], endpoints.BASIC_METRICS, 1000)
    assert (len(first), len(second)) == (1000, 5)
    assert [json.loads(call.request.content)["offset"] for call in route.calls] == [0, 1000]
    assert time_.now >= 60  # the second call waited for Ozon's one-per-minute limit


def returned(ident: int) -> dict:
    return {"id": ident, "posting_number": f"{ident}-1", "return_reason_name": "Брак", "schema": "Fbs",
            "product": {"sku": 5, "price": {"price": 10.0, "currency_code": "RUB"}},
            "logistic": {"return_date": "2026-11-01T10:00:00Z", "final_moment": ""},
            "visual": {"status": {"sys_name": "ArrivedAtReturnPlace"}, "change_moment": "2026-11-01T10:00:00Z"}}


@respx.mock
def test_returns_page_by_last_id_until_has_next_is_false(client: OzonClient) -> None:
    route = respx.post(f"{BASE}/v1/returns/list").mock(side_effect=[
        httpx.Response(200, json={"returns": [returned(5), returned(9)], "has_next": True}),
        httpx.Response(200, json={"returns": [returned(12)], "has_next": False}),
    ])
    ids = [r.id for page in endpoints.returns(client, SINCE, TO) for r in page]
    assert ids == [5, 9, 12]
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert [b["last_id"] for b in bodies] == [0, 9] and bodies[0]["limit"] == 500
    assert list(bodies[0]["filter"]) == ["visual_status_change_moment"]  # Ozon allows one time filter


@respx.mock
def test_product_list_pages_by_string_last_id_and_stops_on_a_short_page(client: OzonClient) -> None:
    full = [{"product_id": i, "offer_id": f"A{i}"} for i in range(1000)]
    route = respx.post(f"{BASE}/v3/product/list").mock(side_effect=[
        httpx.Response(200, json={"result": {"items": full, "last_id": "abc", "total": 1002}}),
        httpx.Response(200, json={"result": {"items": full[:2], "last_id": "def", "total": 1002}}),
    ])
    assert sum(len(page) for page in endpoints.product_ids(client)) == 1002
    assert [json.loads(c.request.content)["last_id"] for c in route.calls] == ["", "abc"]


@respx.mock
def test_stocks_stop_on_an_empty_cursor(client: OzonClient) -> None:
    item = {"product_id": 1, "offer_id": "A", "stocks": [{"sku": 7, "type": "fbs", "present": 3, "reserved": 1}]}
    route = respx.post(f"{BASE}/v4/product/info/stocks").mock(side_effect=[
        httpx.Response(200, json={"items": [item] * 1000, "cursor": "next", "total": 1001}),
        httpx.Response(200, json={"items": [item], "cursor": "", "total": 1001}),
    ])
    assert sum(len(page) for page in endpoints.fbs_stocks(client)) == 1001
    assert route.call_count == 2


@respx.mock
def test_accruals_of_a_day_follow_last_id_with_the_same_date(client: OzonClient) -> None:
    accrual = {"accrual_id": 1, "date": "2026-11-01", "total_amount": {"amount": "-12.50", "currency": "RUB"}}
    route = respx.post(f"{BASE}/v1/finance/accrual/by-day").mock(side_effect=[
        httpx.Response(200, json={"accruals": [accrual, {**accrual, "accrual_id": 2}], "last_id": "2"}),
        httpx.Response(200, json={"accruals": [{**accrual, "accrual_id": 3}], "last_id": ""}),
    ])
    accruals = endpoints.accruals_for_day(client, SINCE.date())
    assert [a.accrual_id for a in accruals] == [1, 2, 3] and accruals[0].total_amount.amount == -12.5
    assert [json.loads(c.request.content) for c in route.calls] == [
        {"date": "2026-11-01", "last_id": ""}, {"date": "2026-11-01", "last_id": "2"}]


@respx.mock
def test_fbo_stock_skus_go_in_chunks_of_100(client: OzonClient) -> None:
    route = respx.post(f"{BASE}/v1/analytics/stocks").mock(return_value=httpx.Response(200, json={"items": []}))
    endpoints.fbo_stocks(client, list(range(1, 251)))
    assert [len(json.loads(c.request.content)["skus"]) for c in route.calls] == [100, 100, 50]


@respx.mock
def test_blank_dates_from_ozon_read_as_missing(client: OzonClient) -> None:
    respx.post(f"{BASE}/v1/roles").mock(return_value=httpx.Response(200, json={"expires_at": "", "roles": []}))
    assert endpoints.roles(client).expires_at is None
