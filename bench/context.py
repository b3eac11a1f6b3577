"""What every scenario receives: the services, the driver app, the run's options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from apiflask import APIFlask

from bench.infra import Services


@dataclass
class Context:
    services: Services
    app: APIFlask
    quick: bool
    cache_dir: Path
    repeat: int = 1
    _pdfs: dict[int, bytes] = field(default_factory=dict)

    def progress(self, message: str) -> None:
        print(f"[bench] {message}", flush=True)

    def blank_pdf(self, pages: int) -> bytes:
        from bench.driver import blank_pdf

        if pages not in self._pdfs:
            self._pdfs[pages] = blank_pdf(pages)
        return self._pdfs[pages]

    def book(self, pages: int) -> Path:
        """The generated French sample novel of ``pages`` pages, cached between runs."""
        from backend.demo.sample_book import build_sample_book

        path = self.cache_dir / f"sample-book-{pages}.pdf"
        if not path.exists():
            self.progress(f"generating a {pages}-page text PDF (cached in {self.cache_dir})")
            build_sample_book(path, pages=pages)
        return path
