"""Fixtures for the pipeline tests: the sample book, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.demo.sample_book import build_sample_book


@pytest.fixture(scope="session")
def sample_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_book(tmp_path_factory.mktemp("book") / "book.pdf")


@pytest.fixture(scope="session")
def sample_bytes(sample_book: Path) -> bytes:
    return sample_book.read_bytes()
