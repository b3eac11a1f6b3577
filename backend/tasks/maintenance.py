"""The reconciler task (beat, every ``QUIRE_RECONCILE_INTERVAL_SECONDS``, maintenance queue)."""

from __future__ import annotations

from celery import shared_task

from backend.services import reconcile as reconciler


# Below the chunk limits: a run is a few queries and publishes, and a finalize
# of an orphaned job at most; a stuck run must not hold the lock for long.
@shared_task(name="quire.reconcile", ignore_result=True, soft_time_limit=120, time_limit=150)
def reconcile() -> dict[str, int]:
    return reconciler.reconcile().counts()
