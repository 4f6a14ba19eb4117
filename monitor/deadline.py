"""A deadline on a whole network exchange. Socket timeouts restart on every byte, so a peer that
answers one byte a second never trips them; closing the connection from a timer does."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def within(seconds: float, abort: Callable[[], None]) -> Iterator[threading.Event]:
    """Run the block; if it still runs after `seconds`, call `abort` (which closes the connection,
    so the blocked read fails at once). The event yielded is set when that happened, so the
    caller can say "no complete answer in time" instead of a socket error."""
    fired = threading.Event()

    def fire() -> None:
        fired.set()
        abort()
    timer = threading.Timer(max(seconds, 0.0), fire)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()
