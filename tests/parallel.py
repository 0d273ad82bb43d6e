"""Run calls at one moment, each on its own thread and database connection.

The calls may send HTTP requests to a live server (``tests.live``) or call
the services directly; either way each thread has its own connection, so
on PostgreSQL their transactions really overlap. A barrier releases them
together once every thread is ready.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from django.db import connection

from .live import REQUEST_TIMEOUT

__all__ = ["at_once", "closing_connection"]

T = TypeVar("T")


def closing_connection(call: Callable[[], T]) -> Callable[[], T]:
    """``call`` wrapped to close the thread's database connection when it ends."""

    def run() -> T:
        try:
            return call()
        finally:
            connection.close()

    return run


def at_once(calls: Sequence[Callable[[], T]]) -> list[T | Exception]:
    """The results of ``calls`` run together, in order; an exception a call raised is its result."""
    barrier = threading.Barrier(len(calls), timeout=REQUEST_TIMEOUT)

    def run(call: Callable[[], T]) -> T | Exception:
        connection.ensure_connection()  # connect before the barrier, not inside the race
        barrier.wait()
        try:
            return call()
        except Exception as exc:  # reported by the caller, with the rest of the round
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(closing_connection(partial(run, call))) for call in calls]
        return [future.result(timeout=4 * REQUEST_TIMEOUT) for future in futures]
