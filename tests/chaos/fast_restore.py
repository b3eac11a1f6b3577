"""Loaded into one chaos worker with ``-I tests.chaos.fast_restore``: kombu sweeps
Redis for unacknowledged messages past their visibility timeout every second
instead of every ~100 s (``unacked_restore_interval`` × ``unacked_restore_throttle``,
10 × 10 by default), so a redelivery of a running task happens within the test."""

from __future__ import annotations

from celery import current_app

current_app.conf.broker_transport_options = {
    **current_app.conf.broker_transport_options,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
