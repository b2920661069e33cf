"""`predtrack verify` at report time, in a child process on a large store."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from predtrack.store.engine import Store

PARALLEL_VERIFY_MIN = 5000  # rows (predictions) from which verification runs in a child process


def _as_dict(result: Any) -> dict[str, Any]:
    return {
        "ok": bool(result.ok),
        "entries": int(result.entries),
        "head": result.head,
        "head_full": result.head_full,
        "problems": [p.as_dict() for p in result.problems],
        "warnings": list(result.warnings),
    }


def _verify_url(url: str) -> dict[str, Any]:
    """`integrity.verify` on its own connection (runs in a child process on large ledgers)."""
    from predtrack.integrity import verify
    from predtrack.store.engine import Store

    store = Store(url)
    try:
        return _as_dict(verify(store))
    finally:
        store.dispose()


class Verifier:
    """Verification of the whole ledger and every row, independent of the scoring.

    On a large store it runs in a child process, on another core, while this one scores and
    draws; on a small one (or where processes cannot be started) it simply runs here.
    """

    def __init__(self, store: Store, rows: int) -> None:
        self.store = store
        self.pool: Any = None
        self.future: Any = None
        if rows < PARALLEL_VERIFY_MIN or (os.cpu_count() or 1) < 2:
            return
        try:
            import multiprocessing
            import threading
            from concurrent.futures import ProcessPoolExecutor

            methods = multiprocessing.get_all_start_methods()
            method = "fork" if "fork" in methods and threading.active_count() == 1 else "spawn"
            self.pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context(method)
            )
            self.future = self.pool.submit(_verify_url, store.url)
        except (OSError, ImportError, NotImplementedError, ValueError):
            self.close()

    def result(self) -> dict[str, Any]:
        """The verification as a dict: ok, entries, head, head_full, problems, warnings."""
        if self.future is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                return dict(self.future.result())
            except (BrokenProcessPool, OSError):
                pass  # the child died (out of memory?): verify here instead
            finally:
                self.close()
        from predtrack.integrity import verify

        return _as_dict(verify(self.store))

    def close(self) -> None:
        """Stop the child process, if one was started."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
            self.future = None
