"""Independent management API reads side by side, each worker on a keep-alive client of its own.

    with ParallelReads(client) as reads:
        limits = reads.get("vhost-limits")                # a Future of the answer
        state = reads.submit(read_definitions, vhost)     # read_definitions(its client, vhost)
    limits.result()

Why: reading a broker's state takes several requests that do not depend on each other, and each
costs a round trip (over TLS to a remote broker, tens of ms); one at a time, they add up. A
requests session is not documented as safe to share between threads, so each worker has its own
(`client`'s settings and timeout).

Leaving the block waits for the reads. The first read to fail cancels those not yet started, and
the block raises the error of the earliest read (in the order they were asked for) that failed,
as reading one after another would have: after a block that did not raise, every `result()` is
there. An interrupt (Ctrl-C) while waiting cancels what has not started and is raised at once:
the workers are daemon threads, so the reads in flight do not hold the process up as it exits
(a ThreadPoolExecutor's would, for up to the client's timeout each).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from mqctl.management import ManagementClient

P = ParamSpec("P")
T = TypeVar("T")

#: reads in flight at once: enough for a vhost's definitions beside the small reads around them,
#: few enough not to load the broker's HTTP listener
WORKERS = 4

_Read = tuple[Future[Any], Callable[[ManagementClient], Any]]


class ParallelReads:
    def __init__(self, client: ManagementClient, workers: int = WORKERS) -> None:
        self._settings = client.settings
        self._timeout = client.timeout
        self._most = workers
        self._queue: queue.SimpleQueue[_Read | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._clients: list[ManagementClient] = []
        self._reads: list[Future[Any]] = []

    def submit(
        self, read: Callable[Concatenate[ManagementClient, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        """`read(client, *args, **kwargs)` on a worker, with that worker's client."""
        future: Future[T] = Future()
        future.add_done_callback(self._on_done)
        with self._lock:
            self._reads.append(future)
        self._queue.put((future, lambda client: read(client, *args, **kwargs)))
        if len(self._workers) < min(self._most, len(self._reads)):
            worker = threading.Thread(target=self._work, name="mqctl-read", daemon=True)
            self._workers.append(worker)
            worker.start()
        return future

    def get(self, *segments: str, params: dict[str, Any] | None = None) -> Future[Any]:
        """`client.get(*segments, params=params)` on a worker."""
        return self.submit(lambda client: client.get(*segments, params=params))

    def _work(self) -> None:
        client = ManagementClient(self._settings, self._timeout)
        with self._lock:
            self._clients.append(client)
        while (item := self._queue.get()) is not None:
            future, call = item
            _settle(future, lambda: call(client))  # noqa: B023 - called before the next item

    def _on_done(self, future: Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            self._cancel_pending()

    def _cancel_pending(self) -> None:
        with self._lock:
            reads = list(self._reads)
        for read in reads:
            read.cancel()  # only those not yet started

    def __enter__(self) -> ParallelReads:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc is not None:
                self._cancel_pending()
            for _ in self._workers:
                self._queue.put(None)
            for worker in self._workers:
                worker.join()
        except BaseException:  # interrupted while waiting: the reads in flight are abandoned
            self._cancel_pending()
            raise
        finally:
            with self._lock:
                clients = list(self._clients)
            for client in clients:
                client.close()
        if exc is None:
            for read in self._reads:
                error = None if read.cancelled() else read.exception()
                if error is not None:
                    raise error


def beside(call: Callable[[], T]) -> Future[T]:
    """`call()` on a daemon thread of its own, as a Future: for one read beside the caller's
    work, which, like ParallelReads' workers, does not hold the process up on Ctrl-C."""
    future: Future[T] = Future()
    threading.Thread(target=_settle, args=(future, call), name="mqctl-beside", daemon=True).start()
    return future


def _settle(future: Future[T], call: Callable[[], T]) -> None:
    if not future.set_running_or_notify_cancel():
        return  # cancelled before it started
    try:
        result = call()
    except BaseException as exc:  # handed to whoever asks for the result
        future.set_exception(exc)
    else:
        future.set_result(result)
