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
(a ThreadPoolExecutor's would, for up to the client's timeout each). So does an error raised in
the block. Each worker closes its client when it ends.
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
        self._lock = threading.Lock()  # guards the lists and flags below
        self._workers: list[threading.Thread] = []
        self._reads: list[Future[Any]] = []
        self._failed = False
        self._closing = False

    def submit(
        self, read: Callable[Concatenate[ManagementClient, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        """`read(client, *args, **kwargs)` on a worker, with that worker's client."""
        future: Future[T] = Future()
        with self._lock:
            if self._closing:
                raise RuntimeError("ParallelReads: a read submitted after its block")
            index = len(self._reads)
            self._reads.append(future)
            if self._failed:  # after an earlier read failed: it would not have been sent
                future.cancel()
                return future
            future.add_done_callback(lambda done: self._on_done(index, done))
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
        made: list[ManagementClient] = []  # this worker's client, made for its first read

        def client() -> ManagementClient:
            if not made:
                made.append(ManagementClient(self._settings, self._timeout))
            return made[0]

        try:
            while (item := self._queue.get()) is not None:
                future, call = item
                _settle(future, lambda: call(client()))  # noqa: B023 - called before the next item
        finally:
            for each in made:
                each.close()

    def _on_done(self, index: int, future: Future[Any]) -> None:
        """A read that failed cancels the reads after it not yet started; those before it run
        on, so the earliest failure is known."""
        if future.cancelled() or future.exception() is None:
            return
        with self._lock:
            self._failed = True
        self._cancel_from(index + 1)

    def _cancel_from(self, index: int) -> None:
        """Cancel the reads from `index` on, in the order asked for, that have not started."""
        with self._lock:
            reads = self._reads[index:]
        for read in reads:
            read.cancel()

    def __enter__(self) -> ParallelReads:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._closing = True
            workers = list(self._workers)
        for _ in workers:
            self._queue.put(None)  # each worker ends after what is queued before it
        if exc is not None:  # the block raised (or was interrupted): no waiting for reads
            self._cancel_from(0)
            return
        try:
            for worker in workers:
                worker.join()
        except BaseException:  # interrupted while waiting: the reads in flight are abandoned
            self._cancel_from(0)
            raise
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
