"""HTTP transport to the Ozon Seller API: auth headers, pacing, retries and typed errors.

Callers get either a validated pydantic model or an `OzonError` subclass that names the API
method, says what went wrong and how to fix it. The API key is sent only as a header and never
appears in a message.
"""
from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)

# Ozon's documented limits: 50 requests/s per Client-Id across all methods, and stricter
# per-method limits on a few (seconds between calls).
GLOBAL_INTERVAL = 1 / 50
METHOD_INTERVALS = {"/v1/analytics/data": 60.0}


class OzonError(Exception):
    """A Seller API call failed; `method` is the API path, `hint` what the seller can do."""

    retryable = False

    def __init__(self, method: str, message: str, hint: str = "", status: int | None = None) -> None:
        self.method, self.message, self.hint, self.status = method, message, hint, status
        super().__init__(f"{method}: {message}" + (f" ({hint})" if hint else ""))


class AuthError(OzonError):
    """The Client-Id/Api-Key pair was rejected (wrong, deactivated or expired key)."""


class AccessDenied(OzonError):
    """The key is valid but lacks the role this method needs."""


class BadRequest(OzonError):
    """Ozon rejected the request parameters; retrying the same request cannot help."""


class MethodGone(OzonError):
    """Ozon has switched this method version off."""


class RateLimited(OzonError):
    """Still throttled (429) after retrying within the time budget."""

    retryable = True


class ServerError(OzonError):
    """5xx, timeout or network failure that outlasted the retry budget."""

    retryable = True


class BadResponse(OzonError):
    """The answer was not the JSON shape the method documents."""


class OzonClient:
    """One account's connection. Thread-safe pacing; retries 429/5xx/timeouts with backoff
    (honouring Retry-After) for at most `retry_budget` seconds; never retries other 4xx."""

    def __init__(self, base_url: str, client_id: int, api_key: str, *, timeout: float = 30.0,
                 retry_budget: float = 60.0, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"Client-Id": str(client_id), "Api-Key": api_key, "Content-Type": "application/json",
                     "User-Agent": "ozon-monitor"},
        )
        self.retry_budget, self._sleep, self._clock, self._jitter = retry_budget, sleep, clock, jitter
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OzonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, method: str, body: dict, model: type[ModelT]) -> ModelT:
        """POST `body` to `method` and return the response parsed as `model`."""
        payload = self._post_json(method, body)
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadResponse(method, f"unexpected response shape at {where or 'top level'}: {first['msg']}",
                              "Ozon may have changed this method; check for an ozon-monitor update") from None

    def _post_json(self, method: str, body: dict) -> object:
        deadline = self._clock() + self.retry_budget
        attempt = 0
        while True:
            self._pace(method)
            try:
                response = self._http.post(method, json=body)
            except httpx.TimeoutException:
                error: OzonError = ServerError(method, "request timed out", "Ozon is slow or unreachable; will retry")
                delay = None
            except httpx.TransportError as exc:
                error = ServerError(method, f"network error: {type(exc).__name__}", "check the internet connection")
                delay = None
            else:
                if response.status_code < 400:
                    return _json(method, response)
                error = _classify(method, response)
                delay = _retry_after(response)
            if not error.retryable:
                raise error
            backoff = delay if delay is not None else min(30.0, 2 ** attempt) * (0.5 + self._jitter() / 2)
            if self._clock() + backoff > deadline:
                raise error
            log.warning("%s; retrying in %.1fs", error, backoff)
            self._sleep(backoff)
            attempt += 1

    def _pace(self, method: str) -> None:
        """Wait for the global and per-method slots so Ozon never has to throttle us."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_slot.get("*", now), self._next_slot.get(method, now))
            self._next_slot["*"] = start + GLOBAL_INTERVAL
            if method in METHOD_INTERVALS:
                self._next_slot[method] = start + METHOD_INTERVALS[method]
        if start > now:
            self._sleep(start - now)


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


def _classify(method: str, response: httpx.Response) -> OzonError:
    status, text = response.status_code, _message(response)
    lowered = text.lower()
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
