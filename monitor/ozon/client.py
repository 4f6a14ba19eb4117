"""HTTP transport to the Ozon Seller API: auth headers, pacing, retries and typed errors.

Callers get either a validated pydantic model or an `OzonError` subclass that names the API
method, says what went wrong and how to fix it. The API key is sent only as a header and never
appears in a message. Retries live inside two budgets, one per call and one for the whole
cycle (`deadline`), and every wait is a wait on the stop event: a stopping daemon is never
held by a backoff. A host that refuses connections is not retried like a busy one.
"""
from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from typing import ClassVar, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from monitor.deadline import within
from monitor.ozon.models import Page, without_nulls
from rules.base import ErrorKind

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)

# Ozon's documented limits: 50 requests/s per Client-Id across all methods, and stricter
# per-method limits on a few (seconds between calls).
GLOBAL_INTERVAL = 1 / 50
METHOD_INTERVALS = {"/v1/analytics/data": 60.0}
CUT_OFF = "the whole answer took longer than the request's time limit"


class OzonError(Exception):
    """A Seller API call failed; `method` is the API path, `hint` what the seller can do.

    The class is the classification: `kind` travels with the error into the state file and the
    rules, so nothing ever reads the English message back to learn what went wrong."""

    retryable = False
    kind: ClassVar[ErrorKind] = "other"

    def __init__(self, method: str, message: str, hint: str = "", status: int | None = None) -> None:
        self.method, self.message, self.hint, self.status = method, message, hint, status
        super().__init__(f"{method}: {message}" + (f" ({hint})" if hint else ""))


class AuthError(OzonError):
    """The Client-Id/Api-Key pair was rejected (wrong, deactivated or expired key)."""

    kind: ClassVar[ErrorKind] = "key_rejected"


class AccessDenied(OzonError):
    """The key is valid but lacks the role this method needs."""

    kind: ClassVar[ErrorKind] = "missing_role"


class BadRequest(OzonError):
    """Ozon rejected the request parameters; retrying the same request cannot help."""

    kind: ClassVar[ErrorKind] = "bad_request"


class MethodGone(OzonError):
    """Ozon has switched this method version off."""

    kind: ClassVar[ErrorKind] = "method_retired"


class RateLimited(OzonError):
    """Still throttled (429) after retrying within the time budget."""

    retryable = True
    kind: ClassVar[ErrorKind] = "rate_limited"


class ServerError(OzonError):
    """5xx, timeout or network failure that outlasted the retry budget."""

    retryable = True
    kind: ClassVar[ErrorKind] = "server_error"


class BadResponse(OzonError):
    """The answer was not the JSON shape the method documents."""

    kind: ClassVar[ErrorKind] = "bad_response"


class Unreachable(OzonError):
    """The API host cannot be reached at all (connection refused, name not found): the host
    is down or the address is wrong, and retrying for minutes will not help."""

    kind: ClassVar[ErrorKind] = "unreachable"


class AccountBlocked(AuthError):
    """Ozon answers that the seller's company is blocked: a problem for support, not the key."""

    kind: ClassVar[ErrorKind] = "account_blocked"


class OutOfTime(OzonError):
    """The cycle's time budget ran out before this call could be made or retried."""

    kind: ClassVar[ErrorKind] = "out_of_time"


class Timeout(ServerError):
    """Ozon did not answer within the timeout, on every try within the budget."""

    kind: ClassVar[ErrorKind] = "timeout"


class NetworkError(ServerError):
    """The connection broke mid-exchange, on every try within the budget."""

    kind: ClassVar[ErrorKind] = "network"


class Stopped(Exception):
    """The stop event was set while waiting: the caller should stop where it stands."""


class OzonClient:
    """One account's connection. Thread-safe pacing; retries 429/5xx/timeouts with backoff
    (honouring Retry-After) for at most `retry_budget` seconds; never retries other 4xx."""

    CONNECT_TRIES = 2  # a refused connection is tried this often, then the host is taken as down

    def __init__(self, base_url: str, client_id: int, api_key: str, *, timeout: float = 30.0,
                 retry_budget: float = 30.0, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random, stop: threading.Event | None = None,
                 deadline: float | None = None, on_call: Callable[[str, str], None] | None = None) -> None:
        def connect() -> httpx.Client:
            return httpx.Client(
                base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                headers={"Client-Id": str(client_id), "Api-Key": api_key, "Content-Type": "application/json",
                         "User-Agent": "ozon-monitor"})
        self._connect = connect
        self._http = connect()
        self.retry_budget, self._sleep, self._clock, self._jitter = retry_budget, sleep, clock, jitter
        self._stop, self.deadline, self.timeout = stop, deadline, timeout
        self._on_call = on_call or (lambda method, outcome: None)  # every try: (method, HTTP status or failure)
        self.host = httpx.URL(base_url).host
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    def close(self) -> None:
        self._http.close()

    def out_of_time(self) -> bool:
        return self.deadline is not None and self._clock() >= self.deadline

    def _wait(self, seconds: float) -> None:
        """Sleep, or return early with `Stopped` when the stop event is set."""
        if self._stop is None:
            self._sleep(seconds)
        elif self._stop.wait(seconds):
            raise Stopped

    def __enter__(self) -> OzonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, method: str, body: dict, model: type[ModelT]) -> ModelT:
        """POST `body` to `method` and return the response parsed as `model`; a 200 whose body
        lacks the documented structure is a `BadResponse` naming what is missing."""
        return parse(method, self._call(method, body), model)

    def get(self, method: str, model: type[ModelT]) -> ModelT:
        """GET `method` (the few Seller API methods without a body) as `post` does."""
        return parse(method, self._call(method, None), model)

    def _call(self, method: str, body: dict | None) -> object:
        start = self._clock()
        deadline = start + self.retry_budget
        if self.deadline is not None:
            deadline = min(deadline, self.deadline)
        attempt = refused = 0
        while True:
            if self._clock() >= deadline and self.out_of_time():
                raise OutOfTime(method, "the cycle's time budget ran out", "the next cycle goes on from here")
            self._pace(method)
            limit = self._request_timeout(deadline)
            try:
                response = self._exchange(method, body, limit)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                self._on_call(method, "unreachable")
                refused += 1
                if refused >= self.CONNECT_TRIES:
                    raise Unreachable(method, f"could not connect to {self.host} ({_reason(exc)})",
                                      "the host is down or base_url is wrong; check the internet connection") from None
                error: OzonError = NetworkError(method, f"could not connect to {self.host}", "retrying once")
                delay = 1.0
            except httpx.TimeoutException as exc:
                self._on_call(method, "timeout")
                error = Timeout(method, f"no complete answer within {limit:.0f} s" if str(exc) == CUT_OFF
                                else "request timed out", "Ozon is slow or unreachable; will retry")
                delay = None
            except httpx.TransportError as exc:
                self._on_call(method, "network")
                error = NetworkError(method, f"network error: {type(exc).__name__}", "check the internet connection")
                delay = None
            else:
                self._on_call(method, str(response.status_code))
                if response.status_code < 400:
                    return _json(method, response)
                error = _classify(method, response)
                delay = _retry_after(response)
            if not error.retryable:
                raise error
            backoff = delay if delay is not None else min(30.0, 2 ** attempt) * (0.5 + self._jitter() / 2)
            if self._clock() + backoff > deadline:
                if isinstance(error, RateLimited):
                    error = RateLimited(method, f"Ozon rate limit: HTTP 429 on every try for "
                                                f"{self._clock() - start:.0f} s", "backing off until the next cycle",
                                        429)
                raise error
            log.warning("%s; retrying in %d s", error, math.ceil(backoff))  # whole seconds: read by a seller
            self._wait(backoff)
            attempt += 1

    def _exchange(self, method: str, body: dict | None, limit: float) -> httpx.Response:
        """One request and its whole answer within `limit` seconds: a server that sends a byte a
        second resets every socket timeout, so a timer closes the connection instead."""
        with within(limit, self._http.close) as cut_off:
            try:
                response = self._http.post(method, json=body, timeout=limit) if body is not None \
                    else self._http.get(method, timeout=limit)
            except (httpx.HTTPError, RuntimeError):  # a read on the connection closed under it
                if not cut_off.is_set():
                    raise
        if cut_off.is_set():
            self._http = self._connect()
            raise httpx.ReadTimeout(CUT_OFF)
        return response

    def _request_timeout(self, deadline: float) -> float:
        """The configured timeout, but never past the budget (at least a second)."""
        return max(1.0, min(self.timeout, deadline - self._clock()))

    def _pace(self, method: str) -> None:
        """Wait for the global and per-method slots so Ozon never has to throttle us; a slot past
        the cycle's budget is not waited for (`OutOfTime`: the call is the next cycle's)."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_slot.get("*", now), self._next_slot.get(method, now))
            if self.deadline is not None and start > self.deadline:
                raise OutOfTime(method, f"Ozon allows this method once in {METHOD_INTERVALS.get(method, 0):.0f} s and "
                                        "the next allowed call falls after the cycle's time budget",
                                "deferred to the next cycle")
            self._next_slot["*"] = start + GLOBAL_INTERVAL
            if method in METHOD_INTERVALS:
                self._next_slot[method] = start + METHOD_INTERVALS[method]
        if start > now:
            self._wait(start - now)


def parse(method: str, payload: object, model: type[ModelT]) -> ModelT:
    """`payload` as `model`, or a `BadResponse` naming the method and what is missing. List items
    that could not be read are left out and logged (a warning naming the method, how many, why)."""
    try:
        try:
            result = model.model_validate(payload)
        except ValidationError:  # a null where Ozon documents an object: read it as unknown
            if issubclass(model, Page):
                raise  # a list answer has done that itself, before leaving out what it cannot read
            result = model.model_validate(without_nulls(payload))
        skipped: list[str] = getattr(result, "skipped", [])
        if skipped:
            log.warning("%s: %d record(s) of this page could not be read and were skipped (%s); the rest is kept",
                        method, len(skipped), "; ".join(skipped[:3]))
        return result
    except ValidationError as exc:
        if isinstance(payload, dict) and "code" in payload and "message" in payload:
            raise BadResponse(method, f"HTTP 200 with an error instead of data (code {str(payload['code'])[:20]}: "
                                      f"{str(payload['message'])[:200]})", "will retry next cycle") from None
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        what = f"missing {where}" if first["type"] == "missing" else f"at {where or 'top level'}: {first['msg']}"
        raise BadResponse(method, f"unexpected response shape: {what}",
                          "Ozon may have changed this method; check for an ozon-monitor update") from None


def _json(method: str, response: httpx.Response) -> object:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadResponse(method, f"HTTP {response.status_code} with a body that is not valid JSON "
                                  f"({len(response.content)} bytes)", "usually transient; will retry next cycle") from None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body)[:300] if isinstance(body, dict) else str(body)[:300]
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:300] or response.reason_phrase


def _reason(exc: Exception) -> str:
    text = str(exc).lower()
    if "name or service not known" in text or "nodename nor servname" in text or "name resolution" in text:
        return "the name does not resolve"
    if "refused" in text:
        return "connection refused"
    return "no answer" if isinstance(exc, httpx.ConnectTimeout) else type(exc).__name__


def _error_code(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None


def _classify(method: str, response: httpx.Response) -> OzonError:
    """Ozon's error answers as Ozon means them (published live captures: code 9 "obsolete
    method", code 7 "Company is blocked", code 3 on a bad Client-Id)."""
    status, text = response.status_code, _message(response)
    lowered, code = text.lower(), _error_code(response)
    if "obsolete" in lowered or code == 9:
        return MethodGone(method, f"HTTP {status} {text}", "Ozon has retired this method; update ozon-monitor", status)
    if "company is blocked" in lowered:
        return AccountBlocked(method, f"HTTP {status} {text}",
                              "Ozon reports the seller account blocked; contact Ozon seller support", status)
    if "client-id" in lowered:
        return AuthError(method, f"HTTP {status} {text}",
                         "check client_id in the config: it must be the shop's Client-Id from Settings -> Seller API",
                         status)
    if status == 429:
        return RateLimited(method, f"HTTP 429 {text}", "too many requests; backing off", status)
    if status >= 500:
        return ServerError(method, f"HTTP {status} {text}", "Ozon-side failure; will retry", status)
    if "role" in lowered:
        return AccessDenied(method, f"HTTP {status} {text}",
                            "grant the key the role for this method in the seller cabinet", status)
    if "api-key" in lowered or "api key" in lowered or status == 401:
        return AuthError(method, f"HTTP {status} {text}",
                         "check client_id and the API key in the seller cabinet (Settings -> Seller API)", status)
    if status == 403:
        return AccessDenied(method, f"HTTP {status} {text}",
                            "the key may not call this method; check its roles in the seller cabinet", status)
    if status == 404 or "method is not allowed" in lowered:
        return MethodGone(method, f"HTTP {status} {text}",
                          "Ozon has switched this method off; update ozon-monitor", status)
    return BadRequest(method, f"HTTP {status} {text}", "the request was rejected; please report this", status)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
