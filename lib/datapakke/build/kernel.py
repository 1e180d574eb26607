"""Inside a warm kernel: import once, then put the process back as it was before every notebook.

A fresh kernel per notebook costs a process start and every import (≈ 3 s a page).  The warm
engine (``engine.py``) keeps one kernel per worker instead; this module runs *inside* that
kernel.  ``warm_up`` takes a snapshot and watches our packages' imports; ``reset`` (before
each notebook) restores what a notebook can change, so nothing leaks from one school into
the next:

* the user namespace, ``In``/``Out``, the execution counter (IPython's own ``reset``);
* the working directory, ``os.environ``, ``sys.path``, ``sys.argv``;
* every module-level binding of the warmed packages (names added are removed, names rebound
  are bound back) and the contents of their module- and class-level dicts, lists and sets
  (e.g. a figure counter or a cache dict), plus ``functools`` caches;
* a module of those packages is imported when a notebook first needs it, and recorded as it
  was right after that import, before any notebook code touched it;
* warning filters and the "shown once" registries, logging's root logger;
* the global random states of ``random`` and NumPy, NumPy's error and print options, pandas
  options, plotly's default renderer and template;
* IPython display formatters and event callbacks a notebook registered.

Third-party modules stay imported (that is the point); their internal caches only change
speed, never output. So does ``store.tables`` (the published tables, read once per kernel and checked
against the file on every use): an object, not a plain container, so reset leaves it as it is.  The engine does not look at what a notebook contains.
"""
from __future__ import annotations

import copy
import gc
import importlib
import importlib.abc
import logging
import os
import random
import sys
import warnings
from dataclasses import dataclass, field
from types import ModuleType

_CONTAINERS = (dict, list, set, bytearray)
_MISSING = object()


def _is_state(name: str, value: object) -> bool:
    return not (name.startswith("__") and name.endswith("__")) and type(value) in _CONTAINERS


def _refill(live, saved) -> None:
    if isinstance(live, dict):
        live.clear()
        live.update(saved)
    elif isinstance(live, set):
        live.clear()
        live.update(saved)
    else:  # list, bytearray
        live[:] = saved


def _differs(live, saved) -> bool:
    try:
        return bool(live != saved)
    except Exception:  # noqa: BLE001 - e.g. arrays inside: compare impossible, so refill
        return True


@dataclass
class _Namespace:
    """One namespace (a module's or a class's): its bindings and copies of its containers."""

    ns: dict
    bindings: dict
    contents: dict = field(default_factory=dict)

    @classmethod
    def capture(cls, ns: dict) -> "_Namespace":
        snap = cls(ns, dict(ns))
        for name, value in snap.bindings.items():
            if _is_state(name, value):
                try:
                    snap.contents[name] = copy.deepcopy(value)
                except Exception:  # noqa: BLE001 - uncopyable: restored by identity only
                    pass
        return snap

    def restore(self, rebind: bool = True) -> None:
        if rebind:
            for name in [n for n in self.ns if n not in self.bindings]:
                del self.ns[name]
            for name, value in self.bindings.items():
                if self.ns.get(name, _MISSING) is not value:
                    self.ns[name] = value
        for name, saved in self.contents.items():
            live = self.bindings[name]
            if _differs(live, saved):
                _refill(live, copy.deepcopy(saved))


@dataclass
class _ModuleState:
    module: ModuleType
    namespace: _Namespace
    classes: list[tuple[type, _Namespace]]
    caches: list

    @classmethod
    def capture(cls, module: ModuleType) -> "_ModuleState":
        classes, caches = [], []
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == module.__name__:
                classes.append((value, _Namespace.capture(dict(vars(value)))))
            elif callable(getattr(value, "cache_clear", None)) and hasattr(value, "cache_info"):
                caches.append(value)
        return cls(module, _Namespace.capture(vars(module)), classes, caches)

    def restore(self) -> None:
        self.namespace.restore()
        for klass, snap in self.classes:
            for name in [n for n in vars(klass) if n not in snap.bindings and not n.startswith("__")]:
                delattr(klass, name)
            for name, value in snap.bindings.items():
                if vars(klass).get(name, _MISSING) is not value and not name.startswith("__"):
                    setattr(klass, name, value)
            snap.restore(rebind=False)  # a class dict is a read-only view: refill its containers only
        for fn in self.caches:
            fn.cache_clear()


def _pandas_options() -> dict:
    pd = sys.modules.get("pandas")
    if pd is None:
        return {}
    keys: list[str] = []

    def walk(wrapper, prefix: str) -> None:
        for name in dir(wrapper):
            value = getattr(wrapper, name)
            key = f"{prefix}{name}"
            if type(value).__name__ == "DictWrapper":
                walk(value, key + ".")
            else:
                keys.append(key)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walk(pd.options, "")
        return {k: pd.get_option(k) for k in keys}


@dataclass
class Snapshot:
    """Everything ``reset`` puts back; taken once, right after the warm-up imports."""

    packages: tuple[str, ...]
    modules: dict[str, _ModuleState]
    environ: dict
    path: list
    argv: list
    filters: list
    root_level: int
    root_handlers: list
    random_state: object
    numpy: dict
    pandas: dict
    plotly: dict
    formatters: dict
    events: dict

    @classmethod
    def take(cls, packages: tuple[str, ...]) -> "Snapshot":
        modules = {name: _ModuleState.capture(m) for name, m in list(sys.modules.items())
                   if m is not None and _in(name, packages) and name != __name__}  # this module holds the snapshot
        np = sys.modules.get("numpy")
        numpy = {}
        if np is not None:
            numpy = {"random": np.random.get_state(), "err": np.geterr(), "print": np.get_printoptions()}
        pio = sys.modules.get("plotly.io")
        plotly = {"renderer": pio.renderers.default, "template": pio.templates.default} if pio else {}
        shell = _shell()
        formatters, events = {}, {}
        if shell is not None:
            for mime, f in shell.display_formatter.formatters.items():
                formatters[mime] = {a: dict(getattr(f, a)) for a in ("type_printers", "deferred_printers",
                                                                       "singleton_printers") if hasattr(f, a)}
            events = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
        root = logging.getLogger()
        return cls(packages, modules, dict(os.environ), list(sys.path), list(sys.argv), list(warnings.filters),
                   root.level, list(root.handlers), random.getstate(), numpy, _pandas_options(), plotly,
                   formatters, events)

    def restore(self, cwd: str | None = None) -> None:
        if cwd:
            os.chdir(cwd)
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        sys.path[:] = self.path
        sys.argv[:] = self.argv
        for name in [n for n in sys.modules if _in(n, self.packages) and n not in self.modules and n != __name__]:
            del sys.modules[name]  # imported around the recorder (e.g. a reload): import it fresh
        for state in self.modules.values():
            state.restore()
        warnings.resetwarnings()  # also forgets which warnings were "shown once"
        warnings.filters[:] = self.filters
        root = logging.getLogger()
        root.setLevel(self.root_level)
        root.handlers[:] = self.root_handlers
        random.setstate(self.random_state)
        np = sys.modules.get("numpy")
        if self.numpy and np is not None:
            np.random.set_state(self.numpy["random"])
            np.seterr(**self.numpy["err"])
            np.set_printoptions(**self.numpy["print"])
        pd = sys.modules.get("pandas")
        if pd is not None and self.pandas:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for key, value in self.pandas.items():
                    if pd.get_option(key) != value:
                        pd.set_option(key, value)
        pio = sys.modules.get("plotly.io")
        if pio is not None and self.plotly:
            if pio.renderers.default != self.plotly["renderer"]:
                pio.renderers.default = self.plotly["renderer"]
            if pio.templates.default != self.plotly["template"]:  # the setter validates: slow
                pio.templates.default = self.plotly["template"]
        shell = _shell()
        if shell is not None:
            for mime, saved in self.formatters.items():
                f = shell.display_formatter.formatters.get(mime)
                for attr, printers in saved.items():
                    live = getattr(f, attr, None)
                    if live is not None and live != printers:
                        live.clear()
                        live.update(printers)
            for name, cbs in self.events.items():
                shell.events.callbacks[name][:] = cbs
            _reset_shell(shell)


def _reset_shell(shell) -> None:
    """IPython's own reset: user namespace, ``In``/``Out``, the execution counter back to 1.

    IPython's reset ends with a full garbage collection, which scans every object of every
    imported library (≈ 0,3 s).  What survives a reset is the warm kernel's long-lived state,
    so it is frozen (``gc.freeze``): the next collections scan one notebook's objects only.
    """
    shell.reset(new_session=False)  # a new history session would only cost a database write
    shell.execution_count = 1
    gc.freeze()


def _in(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the kernel always has IPython
        return None
    return get_ipython()


class _Recorder(importlib.abc.MetaPathFinder):
    """Snapshot each module of the watched packages right after its first import.

    So the kernel imports what the notebooks use when they first use it (once), and each
    module's state is still known as it was before any notebook touched it.
    """

    def __init__(self, snapshot: "Snapshot"):
        self.snapshot = snapshot

    def find_spec(self, fullname, path, target=None):
        if not _in(fullname, self.snapshot.packages):
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RecordingLoader(spec.loader, self.snapshot)
        return spec


class _RecordingLoader(importlib.abc.Loader):
    def __init__(self, loader, snapshot: "Snapshot"):
        self._loader, self._snapshot = loader, snapshot

    def __getattr__(self, name):  # resource readers, get_source, … of the real loader
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        self._snapshot.modules.setdefault(module.__name__, _ModuleState.capture(module))


_snapshot: Snapshot | None = None


#: Libraries whose global state ``reset`` restores: imported at warm-up, so that state is known.
STATEFUL = ("numpy", "pandas", "plotly.io")


def warm_up(packages: tuple[str, ...] = ("datapakke",)) -> None:
    """Take the snapshot and watch ``packages``: their modules are recorded as they are imported."""
    global _snapshot
    for name in STATEFUL:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
    _snapshot = Snapshot.take(tuple(packages))
    sys.meta_path.insert(0, _Recorder(_snapshot))
    shell = _shell()
    if shell is not None:
        _reset_shell(shell)


def reset(cwd: str | None = None) -> None:
    """Put the kernel back as ``warm_up`` left it; ``cwd`` is the next notebook's folder."""
    if _snapshot is None:
        warm_up()
    _snapshot.restore(cwd)
