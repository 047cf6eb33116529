"""Runs *inside* a warm notebook kernel: snapshot its state once, restore it before every village.

A batch reuses one kernel for many villages (see :mod:`analysis.run.kernels`), so a village must
not see anything the previous one left behind. A fresh kernel that has run the notebook's
imports is the reference state; :func:`snapshot` records it right after those imports and
:func:`reset` puts it back:

* the user namespace, the output cache and the execution counter (``In [1]`` again);
* the working directory, ``os.environ`` (and the time zone), ``sys.path``, the locale;
* warning filters and the "already shown" registries, so a warning shown for one village is
  shown again for the next;
* matplotlib's ``rcParams`` and open pyplot figures; pandas options; numpy error and print
  settings;
* the logging configuration of the root logger and IPython's display formatters.

Imported modules stay imported: that is the point of a warm kernel, and importing twice would
not change them. Code that hides state elsewhere (a module-level cache filled from one
village's data) would still leak; the batch tests compare every report of a batch with the
same village run alone to catch that.
"""

from __future__ import annotations

import copy
import gc
import locale
import logging
import os
import sys
import time
import warnings
from typing import Any

_SNAPSHOT: dict[str, Any] | None = None


def _shell() -> Any:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("analysis.run.kernel_state runs inside an IPython kernel only")
    return shell


def _formatter_state(shell: Any) -> dict[str, tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]]:
    formatters = shell.display_formatter.formatters
    return {
        mime: (dict(f.type_printers), dict(f.deferred_printers), dict(getattr(f, "singleton_printers", {})))
        for mime, f in formatters.items()
    }


def _rc_params() -> dict[str, Any] | None:
    if "matplotlib" not in sys.modules:
        return None
    import matplotlib

    # The backend is resolved lazily on first use; restoring the unresolved sentinel would
    # switch backends under a notebook's feet, so it is left alone.
    return {k: copy.deepcopy(v) for k, v in dict.items(matplotlib.rcParams) if k != "backend"}


def _pandas_options() -> dict[str, Any] | None:
    if "pandas" not in sys.modules:
        return None
    import pandas as pd

    registered = getattr(getattr(pd, "_config", None), "config", None)
    keys = sorted(getattr(registered, "_registered_options", {}))
    values = {}
    for key in keys:
        try:
            values[key] = pd.get_option(key)
        except Exception:  # a deprecated option may refuse to be read; it cannot be restored either
            continue
    return values


def _numpy_state() -> tuple[dict[str, Any], dict[str, Any]] | None:
    if "numpy" not in sys.modules:
        return None
    import numpy as np

    return dict(np.geterr()), dict(np.get_printoptions())


def snapshot() -> None:
    """Record the kernel's state as the state every village starts from.

    Call it once, after the notebook's imports have run in a fresh kernel.
    """
    global _SNAPSHOT
    shell = _shell()
    root = logging.getLogger()
    _SNAPSHOT = {
        "cwd": os.getcwd(),
        "environ": dict(os.environ),
        "sys_path": list(sys.path),
        "locale": locale.setlocale(locale.LC_ALL),
        "warning_filters": list(warnings.filters),
        "rc_params": _rc_params(),
        "pandas": _pandas_options(),
        "numpy": _numpy_state(),
        "root_logger": (root.level, list(root.handlers)),
        "formatters": _formatter_state(shell),
    }
    # Everything imported so far lives as long as the kernel. Moving it out of the
    # collector's sight makes the full collection of every reset cost what one village
    # allocated, not what pandas and matplotlib did.
    gc.collect()
    gc.freeze()


def _restore_environ(saved: dict[str, str]) -> None:
    tz_before = os.environ.get("TZ")
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    for key, value in saved.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
    if os.environ.get("TZ") != tz_before and hasattr(time, "tzset"):
        time.tzset()


def _restore_rc_params(saved: dict[str, Any] | None) -> None:
    if "matplotlib" not in sys.modules:
        return
    import matplotlib

    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        plt.close("all")
    if saved is None:
        return
    current: Any = matplotlib.rcParams
    for key, value in saved.items():
        # Compare first: setting an rcParam runs its validator, and most never change.
        if dict.get(current, key) != value:
            current[key] = copy.deepcopy(value)


def _restore_pandas(saved: dict[str, Any] | None) -> None:
    if saved is None or "pandas" not in sys.modules:
        return
    import pandas as pd

    for key, value in saved.items():
        try:
            if pd.get_option(key) != value:
                pd.set_option(key, value)
        except Exception:  # an option that cannot be read or set back is not state we rely on
            continue


def _restore_formatters(shell: Any, saved: dict[str, Any]) -> None:
    for mime, formatter in shell.display_formatter.formatters.items():
        if mime not in saved:
            continue
        type_printers, deferred, singletons = saved[mime]
        formatter.type_printers.clear()
        formatter.type_printers.update(type_printers)
        formatter.deferred_printers.clear()
        formatter.deferred_printers.update(deferred)
        if hasattr(formatter, "singleton_printers"):
            formatter.singleton_printers.clear()
            formatter.singleton_printers.update(singletons)


def reset() -> None:
    """Put the kernel back into the state recorded by :func:`snapshot`."""
    if _SNAPSHOT is None:
        raise RuntimeError("kernel_state.reset() before snapshot()")
    saved = _SNAPSHOT
    shell = _shell()
    shell.reset(new_session=False)
    # As in a fresh kernel, the next cell is In [1] (tracebacks name it "Cell In[1]").
    shell.execution_count = 1
    os.chdir(saved["cwd"])
    _restore_environ(saved["environ"])
    sys.path[:] = saved["sys_path"]
    if locale.setlocale(locale.LC_ALL) != saved["locale"]:
        locale.setlocale(locale.LC_ALL, saved["locale"])
    filters: Any = warnings.filters
    filters[:] = saved["warning_filters"]
    registry: Any = warnings
    registry.onceregistry.clear()
    # Invalidates every module's __warningregistry__, so "default" warnings show again.
    registry._filters_mutated()
    _restore_rc_params(saved["rc_params"])
    _restore_pandas(saved["pandas"])
    if saved["numpy"] is not None:
        import numpy as np

        if dict(np.geterr()) != saved["numpy"][0]:
            np.seterr(**saved["numpy"][0])
        if dict(np.get_printoptions()) != saved["numpy"][1]:
            np.set_printoptions(**saved["numpy"][1])
    root = logging.getLogger()
    root.setLevel(saved["root_logger"][0])
    root.handlers[:] = saved["root_logger"][1]
    _restore_formatters(shell, saved["formatters"])
    # Figures and frames form reference cycles; collecting them now keeps a long batch's
    # memory flat instead of waiting for the collector's own schedule. (IPython's reset
    # has already collected when it keeps an output cache.)
    if not shell.displayhook.do_full_cache:
        gc.collect()
