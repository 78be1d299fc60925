"""Fanning independent jobs out over local cores or a Dask cluster: the one helper every hunt uses.

Jobs are numbered by their place in the input; results come back in that order whatever the number of
workers or the order they finish in, so a caller that stops at the first failure in job order gets the
same answer from 1 worker or 64 (hunts, the conformance search over seeds, campaigns). At most `ahead`
jobs are started beyond the first result not yet consumed; closing the iterator early (a failure found)
cancels those not started and waits for the running ones, so no worker outlives the call.

Three places to run: in this process (one worker: no process is started, nothing is pickled), a pool of
local processes (`concurrent.futures`, started by forkserver where there is one), or Dask's distributed
scheduler (the optional `distributed` extra): a running scheduler's address (`tcp://host:port`), or
`local` for a `LocalCluster` of `workers` processes started for the call. Jobs and their arguments must
then be picklable, and the job a module-level function importable by every worker.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from paxiom.errors import PaxiomError

T = TypeVar("T")
R = TypeVar("R")

LOCAL_DASK = "local"
"""The `scheduler` standing for a Dask LocalCluster on this machine, started and stopped per call."""


def default_workers() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Pool:
    """Where jobs run: `workers` local processes, or the Dask scheduler at `scheduler` (or LOCAL_DASK)."""

    workers: int = 1
    scheduler: str | None = None

    def describe(self) -> str:
        if self.scheduler == LOCAL_DASK:
            return f"a Dask LocalCluster of {self.workers} workers"
        if self.scheduler is not None:
            return f"the Dask scheduler at {self.scheduler}"
        return "this process" if self.workers == 1 else f"{self.workers} local processes"


IN_PROCESS = Pool()
"""One worker: this process."""


def ordered(
    job: Callable[[T], R], items: Sequence[T], pool: Pool, ahead: int | None = None
) -> Generator[R, None, None]:
    """`job(item)` for each item, yielded in the items' order, computed up to `ahead` jobs in advance
    (default twice the workers)."""
    if pool.scheduler is None and pool.workers <= 1:
        yield from map(job, items)
        return
    with ExitStack() as stack:
        submit, width = _dask(pool, stack) if pool.scheduler is not None else _local(pool, stack, job)
        window = max(1, ahead if ahead is not None else 2 * width)
        running: deque[Any] = deque()  # concurrent.futures or Dask futures, in job order
        upcoming = iter(items)
        try:
            for item in upcoming:
                running.append(submit(job, item))
                if len(running) >= window:
                    break
            while running:
                result = running.popleft().result()
                for item in upcoming:
                    running.append(submit(job, item))
                    break
                yield result
        finally:
            for handle in running:  # stopped early: the rest are not wanted
                handle.cancel()


Submit = Callable[[Callable[[Any], Any], Any], Any]


def _local(pool: Pool, stack: ExitStack, job: Callable[[Any], Any]) -> tuple[Submit, int]:
    context: multiprocessing.context.BaseContext
    if "forkserver" in multiprocessing.get_all_start_methods():
        server = multiprocessing.get_context("forkserver")
        # workers fork from a server that has imported the job's module once: a pool starts in ~0.2 s
        # instead of each worker importing paxiom (~2.5 s on a loaded machine)
        server.set_forkserver_preload([job.__module__])
        context = server
    else:
        context = multiprocessing.get_context("spawn")
    executor = stack.enter_context(ProcessPoolExecutor(pool.workers, mp_context=context))

    def submit(job: Callable[[Any], Any], item: Any) -> Future[Any]:
        return executor.submit(job, item)

    return submit, pool.workers


def _dask(pool: Pool, stack: ExitStack) -> tuple[Submit, int]:
    try:  # untyped: reached as Any
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise PaxiomError("the Dask scheduler needs the distributed extra: pip install 'paxiom[distributed]'") from None
    if pool.scheduler == LOCAL_DASK:
        cluster = stack.enter_context(
            distributed.LocalCluster(
                n_workers=pool.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address="127.0.0.1:0",  # its HTTP server too: loopback, any free port
                silence_logs=logging.ERROR,  # a cancelled run past the first failure is not news
            )
        )
        client = stack.enter_context(distributed.Client(cluster))
        client.wait_for_workers(pool.workers, timeout=120)  # else the first jobs crowd the first worker
    else:
        try:
            client = stack.enter_context(distributed.Client(pool.scheduler, timeout=30))
        except (OSError, TimeoutError, ValueError) as exc:  # unreachable, or not an address
            raise PaxiomError(f"cannot reach the Dask scheduler at {pool.scheduler}: {exc}") from None
    width = sum(client.nthreads().values()) or 1

    def submit(job: Callable[[Any], Any], item: Any) -> Any:
        return client.submit(job, item, pure=False)

    return submit, width
