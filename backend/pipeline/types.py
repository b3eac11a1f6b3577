"""Frozen value types passed between the pipeline's stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from backend.pipeline.furniture import FurniturePlan
from backend.pipeline.sandbox import ParseLimits

# Which pages Tesseract reads (backend.pipeline.ocr): "auto" those without a
# usable text layer, "force" all, "off" none.
OcrMode = Literal["auto", "off", "force"]
OCR_MODES: tuple[OcrMode, ...] = ("auto", "off", "force")
DEFAULT_OCR_LANG = "fra+eng"


@dataclass(frozen=True)
class ChunkSpec:
    """One chunk of a document, in the document's 1-based page numbers.

    The chunk *owns* pages ``page_start..page_end``: the merged result takes the
    sentences that start there from this chunk and from no other. It *reads*
    ``read_start..read_end`` (its own pages plus up to ``overlap`` pages on each
    side) so that a sentence crossing a chunk boundary is seen whole.
    """

    index: int
    page_start: int
    page_end: int
    read_start: int
    read_end: int
    overlap: int = 0

    @property
    def page_count(self) -> int:
        return self.page_end - self.page_start + 1

    @property
    def has_overlap(self) -> bool:
        return self.read_start < self.page_start or self.read_end > self.page_end


@dataclass(frozen=True)
class ProcessSettings:
    """What the user asked for; part of every cache key."""

    words_per_sentence: int = 8
    min_sentence_length: int = 1
    ignore_dialogue: bool = False
    preserve_formatting: bool = False
    fix_hyphenation: bool = True
    # Which pages Tesseract reads (OCR_MODES) and in which of its languages.
    ocr: OcrMode = "auto"
    ocr_lang: str = DEFAULT_OCR_LANG

    def __post_init__(self) -> None:
        if self.ocr not in OCR_MODES:
            raise ValueError(f"ocr must be one of {', '.join(OCR_MODES)}, not {self.ocr!r}")

    def as_dict(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "words_per_sentence": self.words_per_sentence,
            "min_sentence_length": self.min_sentence_length,
            "ignore_dialogue": self.ignore_dialogue,
            "preserve_formatting": self.preserve_formatting,
            "fix_hyphenation": self.fix_hyphenation,
        }
        # Only when changed: results cached before OCR existed keep their keys.
        if self.ocr != "auto":
            settings["ocr"] = self.ocr
        if self.ocr_lang != DEFAULT_OCR_LANG:
            settings["ocr_lang"] = self.ocr_lang
        return settings


@dataclass(frozen=True)
class ChunkInput:
    """Everything a processor needs: the chunk's own PDF (pages read_start..read_end)."""

    pdf_bytes: bytes
    spec: ChunkSpec
    settings: ProcessSettings = field(default_factory=ProcessSettings)
    # How long and how much memory parsing this chunk's PDF may take (not a
    # processing setting: never part of a cache key).
    limits: ParseLimits = field(default_factory=ParseLimits)
    # What repeats across the whole book (running heads, page-number slots),
    # planned once at split time; None: only the page-local furniture rules.
    furniture: FurniturePlan | None = None


@dataclass(frozen=True)
class Sentence:
    """One output sentence and the document page on which it starts."""

    text: str
    page: int
    # Set when the page was OCR'd: True and the page's mean word confidence (0-100).
    ocr: bool = False
    ocr_confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text, "page": self.page}
        if self.ocr:
            data["ocr"] = True
            data["ocr_confidence"] = self.ocr_confidence
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sentence:
        confidence = data.get("ocr_confidence")
        return cls(
            text=str(data["text"]),
            page=int(data["page"]),
            ocr=bool(data.get("ocr", False)),
            ocr_confidence=float(confidence) if confidence is not None else None,
        )


@dataclass(frozen=True)
class ChunkOutput:
    """A processor's answer for one chunk."""

    sentences: tuple[Sentence, ...]
    pages_without_text: tuple[int, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    # Pages whose text layer is garbage (TEXT_UNREADABLE): no sentence from them.
    unreadable_pages: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentences": [s.to_dict() for s in self.sentences],
            "pages_without_text": list(self.pages_without_text),
            "unreadable_pages": list(self.unreadable_pages),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChunkOutput:
        return cls(
            sentences=tuple(Sentence.from_dict(s) for s in data.get("sentences", [])),
            pages_without_text=tuple(int(p) for p in data.get("pages_without_text", [])),
            metadata=dict(data.get("metadata", {})),
            unreadable_pages=tuple(int(p) for p in data.get("unreadable_pages", [])),
        )
