"""The ``datapakke`` papermill engine: one warm kernel per worker, reset between notebooks.

papermill's own engine starts a kernel for every notebook and shuts it down after, so each
school pays a process start and all its imports.  This engine keeps one kernel per worker
thread, started on first use and reused; before each notebook the kernel is put back as it
was (``kernel.reset``: namespace, module state, options, working directory), so a notebook
sees what it would see in a fresh kernel.  Everything else is papermill's: parameters,
``NotebookExecutionManager`` metadata, ``PapermillNotebookClient`` executing the cells, the
error handling.  The executed notebook is the same artefact; registered under the
``papermill.engine`` entry point, so ``papermill --engine datapakke in.ipynb out.ipynb`` works.

The kernel talks over IPC sockets (no TCP ports, no "running over TCP" warning) and its own
stderr (start-up and shutdown messages) goes to a log file, never to the user's terminal.
A kernel that dies or times out is discarded; the next notebook gets a new one.
"""
from __future__ import annotations

import atexit
import contextvars
import multiprocessing
import multiprocessing.util
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_event_loop, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError

NAME = "datapakke"
#: Where kernels write their own stderr; a file per kernel, or os.devnull when unset.
LOG_ENV = "DATAPAKKE_KERNEL_LOG_DIR"
#: Packages whose module state is put back between notebooks (see ``kernel.py``).
PACKAGES = ("datapakke",)


class KernelError(RuntimeError):
    """The warm kernel could not be started or reset."""


class WarmKernel:
    """One kernel process and its client, with the event loop (in a private context) they use."""

    def __init__(self, kernel_name: str = "python3", startup_timeout: float = 60, log_dir: str | None = None,
                 env: dict | None = None):
        self.kernel_name = kernel_name
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.log_dir = log_dir or os.environ.get(LOG_ENV)
        self.context = contextvars.copy_context()
        self.km: AsyncKernelManager | None = None
        self.kc = None
        self._log = None
        self._sockets = ""
        self.context.run(self._start)

    # --- running in the kernel's own event loop ---------------------------------------------
    def _start(self) -> None:
        ensure_event_loop()  # binds a loop to this context; nbclient's run_sync finds it again
        if self.log_dir:
            Path(self.log_dir).mkdir(parents=True, exist_ok=True)
            self._log = open(Path(self.log_dir) / f"kernel-{os.getpid()}-{threading.get_ident()}.log", "ab")
        else:
            self._log = open(os.devnull, "wb")
        # IPC sockets in a private folder: the default names are relative to the working directory,
        # where two workers' kernels would meet
        self._sockets = tempfile.mkdtemp(prefix="datapakke-kernel-")
        self.km = AsyncKernelManager(kernel_name=self.kernel_name, transport="ipc",
                                     ip=os.path.join(self._sockets, "k"))
        try:
            run_sync(self.km.start_kernel)(extra_arguments=["--HistoryManager.hist_file=:memory:"],
                                           env=os.environ | self.env, stdin=subprocess.DEVNULL,
                                           stdout=self._log, stderr=self._log)
            self.kc = self.km.client()
            self.kc.start_channels()
            run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        except Exception as exc:
            self._shutdown()
            raise KernelError(f"Kernen '{self.kernel_name}' kunne ikke starte: {exc}") from exc
        try:
            self._silent(f"__import__('datapakke.build.kernel', fromlist=['warm_up']).warm_up({PACKAGES!r})")
        except Exception:
            self._shutdown()
            raise

    def _silent(self, code: str, timeout: float = 120) -> None:
        """Run code in the kernel without output or history; raise if it failed."""
        run_sync(self._asilent)(code, timeout)

    async def _asilent(self, code: str, timeout: float) -> None:
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        while True:
            reply = await self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content.get("status") != "ok":
            raise KernelError(f"{content.get('ename', 'Fejl')}: {content.get('evalue', '')}")

    def _shutdown(self) -> None:
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km is not None and self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=False)
        except Exception:  # noqa: BLE001 - shutting down: the process may already be gone
            if self.km is not None:
                try:
                    run_sync(self.km.shutdown_kernel)(now=True)
                except Exception:  # noqa: BLE001
                    pass
        finally:
            self.kc = self.km = None
            shutil.rmtree(self._sockets, ignore_errors=True)
            if self._log is not None:
                self._log.close()
                self._log = None

    # --- the public face ---------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.km is not None and self.context.run(run_sync(self.km.is_alive))

    def reset(self, cwd: str) -> None:
        self.context.run(self._silent, f"__import__('datapakke.build.kernel', fromlist=['reset']).reset({cwd!r})")

    def execute(self, nb_man, **client_kwargs):
        """Execute ``nb_man``'s notebook with papermill's client, in this kernel."""
        from papermill.clientwrap import PapermillNotebookClient  # noqa: PLC0415

        def run():
            client = PapermillNotebookClient(nb_man, km=self.km, **client_kwargs)
            client.kc = self.kc  # reuse the warm client: setup_kernel then starts nothing
            return client.execute()

        return self.context.run(run)

    def shutdown(self) -> None:
        self.context.run(self._shutdown)


# --- one kernel per worker thread ----------------------------------------------------------------
_local = threading.local()
_all: list[WarmKernel] = []
_lock = threading.Lock()
_registered = False


def kernel(kernel_name: str = "python3", startup_timeout: float = 60, log_dir: str | None = None,
           env: dict | None = None) -> WarmKernel:
    """This thread's warm kernel for ``kernel_name`` (and ``env``); started on first use, restarted if dead."""
    kernels = getattr(_local, "kernels", None)
    if kernels is None:
        kernels = _local.kernels = {}
    key = (kernel_name, tuple(sorted((env or {}).items())))
    k = kernels.get(key)
    if k is not None and not k.alive:
        discard(k)
        k = None
    if k is None:
        _register_shutdown()
        k = kernels[key] = WarmKernel(kernel_name, startup_timeout, log_dir, env)
        with _lock:
            _all.append(k)
    return k


def discard(k: WarmKernel) -> None:
    """Shut a kernel down and forget it (after a dead kernel or a timeout)."""
    kernels = getattr(_local, "kernels", {})
    for name, other in list(kernels.items()):
        if other is k:
            del kernels[name]
    with _lock:
        if k in _all:
            _all.remove(k)
    k.shutdown()


def shutdown_all() -> None:
    """Shut down every warm kernel of this process (at exit, or when a pool worker stops)."""
    with _lock:
        kernels = list(_all)
        _all.clear()
    for k in kernels:
        k.shutdown()
    if hasattr(_local, "kernels"):
        _local.kernels.clear()


def _register_shutdown() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    atexit.register(shutdown_all)
    if multiprocessing.parent_process() is not None:
        # a pool worker leaves through multiprocessing's exit, which skips atexit but runs these
        multiprocessing.util.Finalize(None, shutdown_all, exitpriority=100)


class WarmKernelEngine:
    """papermill engine ``datapakke``: papermill's client, on this worker's warm kernel.

    It behaves as a ``papermill.engines.Engine`` (whose ``execute_notebook`` it uses); it does
    not subclass it at import time, because papermill imports its engines while it is itself
    being imported, and so this module must not need papermill to load.

    Extra keyword arguments (through ``papermill.execute_notebook(**engine_kwargs)``):
    ``kernel_cwd`` — the notebook's working directory (default: the current one, which
    papermill's ``cwd`` sets); ``kernel_log_dir`` — where the kernel logs (default: env
    ``DATAPAKKE_KERNEL_LOG_DIR``, else nowhere); ``kernel_env`` — environment variables the
    kernel must have (a kernel with other values is another kernel).
    """

    @classmethod
    def execute_notebook(cls, nb, kernel_name, **kwargs):
        from papermill.engines import Engine  # noqa: PLC0415

        return Engine.execute_notebook.__func__(cls, nb, kernel_name, **kwargs)

    @classmethod
    def nb_kernel_name(cls, nb, name=None):
        from papermill.utils import nb_kernel_name  # noqa: PLC0415

        return nb_kernel_name(nb, name)

    @classmethod
    def nb_language(cls, nb, language=None):
        from papermill.utils import nb_language  # noqa: PLC0415

        return nb_language(nb, language)

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, kernel_cwd=None, kernel_log_dir=None,
                                 kernel_env=None, **kwargs):
        from papermill.log import logger  # noqa: PLC0415
        from papermill.utils import merge_kwargs, remove_args  # noqa: PLC0415

        k = kernel(kernel_name or "python3", start_timeout, kernel_log_dir, kernel_env)
        try:
            k.reset(str(kernel_cwd or os.getcwd()))
        except Exception:
            discard(k)
            raise
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        try:
            return k.execute(nb_man, **final_kwargs)
        except (DeadKernelError, CellTimeoutError, TimeoutError):
            discard(k)  # its state is unknown now; the next notebook gets a new kernel
            raise


def register() -> None:
    """Register the engine with papermill by hand (the installed entry point does it otherwise)."""
    from papermill.engines import papermill_engines  # noqa: PLC0415

    papermill_engines.register(NAME, WarmKernelEngine)
