"""Where page jobs run: this process, a local pool of worker processes, or a Dask cluster.

All three take the same ``pages.Job`` and give back its ``Outcome``; each worker keeps one
warm kernel (``engine.py``) for all the pages it is given.

* ``workers=1``: in this process, one page after the other.
* ``LocalPool``: ``workers`` processes (default: the machine's cores).  Workers ignore Ctrl-C;
  the build stops them cleanly and their kernels with them.
* ``DaskRunner``: a ``distributed.Client`` on a scheduler address (``tcp://host:8786``).  The
  workers must have datapakke installed and see the processed data and the reports folder
  at the paths in the job (a shared file system); nothing else is looked up on the worker.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import uuid

from . import pages


def cores() -> int:
    """The cores this process may use (the default number of workers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class InProcess:
    """Run each job here and now (one worker: no pool, no pickling)."""

    name = "denne proces"

    def submit(self, job: pages.Job) -> cf.Future:
        f: cf.Future = cf.Future()
        f.set_result(pages.run(job))
        return f

    def wait(self, pending):
        return cf.wait(pending, return_when=cf.FIRST_COMPLETED)

    def close(self, cancel: bool = False) -> None:
        pass


def _init_worker(log_dir: str, env: dict) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the orchestrator's to handle
    from . import engine  # noqa: PLC0415

    try:
        engine.kernel("python3", 60, log_dir, env)  # start the warm kernel while the queue fills
    except Exception:  # noqa: BLE001 - the first job retries and reports the reason
        pass


class LocalPool:
    """``workers`` processes on this machine, each with its warm kernel."""

    def __init__(self, workers: int, log_dir: str, env: dict):
        self.name = f"{workers} processer"
        self.pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_init_worker, initargs=(log_dir, env))

    def submit(self, job: pages.Job) -> cf.Future:
        return self.pool.submit(pages.run, job)

    def wait(self, pending):
        return cf.wait(pending, return_when=cf.FIRST_COMPLETED)

    def close(self, cancel: bool = False) -> None:
        if not cancel:
            self.pool.shutdown(wait=True)
            return
        # interrupted: stop now, not after the pages in flight; a stopped worker's kernel sees its
        # parent gone and exits by itself
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.terminate()
        for p in processes:
            p.join(timeout=10)


class DaskRunner:
    """Jobs on a Dask distributed cluster."""

    def __init__(self, address: str):
        try:
            from distributed import Client  # noqa: PLC0415
        except ImportError as exc:
            raise RuntimeError("Dask er ikke installeret: pip install 'datapakke[dask]' "
                               "(eller installer 'distributed').") from exc
        try:
            self.client = Client(address, timeout="10s")
        except OSError as exc:
            raise RuntimeError(f"Kan ikke forbinde til Dask-scheduleren {address}: {exc}") from exc
        self.name = f"Dask ({address})"
        self._submitted: list = []

    def submit(self, job: pages.Job):
        future = self.client.submit(pages.run, job, pure=False, key=f"datapakke-{job.key}-{uuid.uuid4().hex[:8]}")
        self._submitted.append(future)
        return future

    def wait(self, pending):
        from distributed import wait  # noqa: PLC0415

        done, not_done = wait(list(pending), return_when="FIRST_COMPLETED")
        return set(done), set(not_done)

    def close(self, cancel: bool = False) -> None:
        if cancel:
            self.client.cancel(list(self._submitted))
        self.client.close()


def runner(workers: int, scheduler: str | None, log_dir: str, env: dict):
    if scheduler:
        return DaskRunner(scheduler)
    if workers <= 1:
        return InProcess()
    return LocalPool(workers, log_dir, env)
