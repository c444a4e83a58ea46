"""Independent management API reads side by side, each worker on a keep-alive client of its own.

    with ParallelReads(client) as reads:
        limits = reads.get("vhost-limits")                # a Future of the answer
        state = reads.submit(read_definitions, vhost)     # read_definitions(its client, vhost)
    limits.result()

Why: reading a broker's state takes several requests that do not depend on each other, and each
costs a round trip (over TLS to a remote broker, tens of ms); one at a time, they add up. A
requests session is not documented as safe to share between threads, so each worker has its own
(`client`'s settings and timeout). Leaving the block waits for every read; an error in one is
raised by its `result()`, and reads not yet started are dropped when the block raises.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from mqctl.management import ManagementClient

P = ParamSpec("P")
T = TypeVar("T")

#: reads in flight at once: enough for a vhost's definitions beside the small reads around them,
#: few enough not to load the broker's HTTP listener
WORKERS = 4


class ParallelReads:
    def __init__(self, client: ManagementClient, workers: int = WORKERS) -> None:
        self._settings = client.settings
        self._timeout = client.timeout
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="mqctl-read")
        self._local = threading.local()
        self._clients: list[ManagementClient] = []
        self._lock = threading.Lock()

    def _client(self) -> ManagementClient:
        client: ManagementClient | None = getattr(self._local, "client", None)
        if client is None:
            client = ManagementClient(self._settings, self._timeout)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def submit(
        self, read: Callable[Concatenate[ManagementClient, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        """`read(client, *args, **kwargs)` on a worker, with that worker's client."""
        return self._pool.submit(lambda: read(self._client(), *args, **kwargs))

    def get(self, *segments: str, params: dict[str, Any] | None = None) -> Future[Any]:
        """`client.get(*segments, params=params)` on a worker."""
        return self.submit(lambda client: client.get(*segments, params=params))

    def __enter__(self) -> ParallelReads:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=exc is not None)
        for client in self._clients:
            client.close()
