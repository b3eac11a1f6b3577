"""The ``quire`` command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from backend.cli.embedded import EXIT_CODES, run_embedded
from backend.cli.server_commands import SERVER_COMMANDS
from backend.pipeline.types import DEFAULT_OCR_LANG


@click.group()
@click.version_option(package_name="quire")
def cli() -> None:
    """Quire: split long PDFs into chunks, process them in parallel, merge the sentences."""


@cli.command("process")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--words",
    "words",
    type=click.IntRange(3, 50),
    default=8,
    show_default=True,
    help="maximum words per sentence",
)
@click.option("--pages-per-chunk", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option(
    "--overlap",
    type=click.IntRange(0, 10),
    default=1,
    show_default=True,
    help="pages each chunk reads beyond its own on each side",
)
@click.option("--processor", default="local", show_default=True)
@click.option("--max-retries", type=click.IntRange(0, 10), default=3, show_default=True)
@click.option(
    "--ocr",
    type=click.Choice(["auto", "off", "force"]),
    default="auto",
    show_default=True,
    help="auto: OCR pages without a usable text layer; off: never; force: every page",
)
@click.option(
    "--ocr-lang",
    default=DEFAULT_OCR_LANG,
    show_default=True,
    help="Tesseract languages, e.g. fra+eng",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="result file (default: PDF name + .sentences.json)",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where the embedded database and blobs live (default ./quire-data)",
)
@click.option(
    "--show",
    type=click.IntRange(0, 1000),
    default=12,
    show_default=True,
    help="how many sentences to print",
)
def process(
    pdf: Path,
    words: int,
    pages_per_chunk: int,
    overlap: int,
    processor: str,
    max_retries: int,
    ocr: str,
    ocr_lang: str,
    out: Path | None,
    data_dir: Path | None,
    show: int,
) -> None:
    """Process PDF end to end in embedded mode (SQLite + an in-process worker)."""
    outcome = run_embedded(
        pdf,
        settings={
            "words_per_sentence": words,
            "pages_per_chunk": pages_per_chunk,
            "overlap_pages": overlap,
            "processor": processor,
            "max_retries": max_retries,
            "ocr": ocr,
            "ocr_lang": ocr_lang,
        },
        out=out or pdf.with_suffix(".sentences.json"),
        data_dir=data_dir,
        show=show,
    )
    sys.exit(EXIT_CODES.get(outcome, 1))


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where the embedded database and blobs live (default ./quire-data)",
)
def serve(host: str, port: int, data_dir: Path | None) -> None:
    """Run the dashboard and API in embedded mode (SQLite + an in-process worker)."""
    from rich.console import Console

    from backend.cli.serve import serve_embedded

    serve_embedded(host, port, data_dir, Console())


for _command in SERVER_COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli()
