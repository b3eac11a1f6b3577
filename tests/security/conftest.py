"""The security suite: each test replays one attack from the audit (issue 12).

Fixtures come from the root conftest (real PostgreSQL, the session app) and the
integration helpers (``assert_error``, service-mode apps on a Redis DB of ours).
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/security/" in str(item.fspath):
            item.add_marker(pytest.mark.security)
