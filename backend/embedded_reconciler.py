"""The reconciler in embedded mode: a daemon thread beside the in-process worker.

Service mode runs ``quire.reconcile`` from Celery beat. Embedded mode has no
beat process, and running Celery's beat inside the process would need a
schedule file and a second service thread for what is one call every minute;
a small thread that calls the same service is simpler and stops with the worker.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from backend.extensions import db

log = logging.getLogger(__name__)


class ReconcilerThread(threading.Thread):
    """Calls ``reconcile()`` every ``interval`` seconds until stopped."""

    def __init__(self, app: Flask, interval: float) -> None:
        super().__init__(name="quire-reconciler", daemon=True)
        self.app = app
        self.interval = interval
        self._stopped = threading.Event()

    @classmethod
    def start_for(cls, app: Flask, interval: float) -> ReconcilerThread:
        thread = cls(app, interval)
        thread.start()
        return thread

    def run(self) -> None:
        from backend.services.reconcile import reconcile

        # The first run waits one interval: a freshly started process has
        # nothing lost yet, and jobs of a previous run are old enough by then.
        while not self._stopped.wait(self.interval):
            with self.app.app_context():
                try:
                    reconcile()
                except Exception:
                    # Never let one bad run end the loop; the next one tries again.
                    log.exception("embedded reconciler: run failed")
                finally:
                    db.session.remove()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=30)
