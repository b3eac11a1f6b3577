"""What needs no Tesseract: OCR artefacts repaired, OCR settings and sentence flags."""

from __future__ import annotations

import pytest

from backend.pipeline.ocr import normalise_ocr_line, valid_lang
from backend.pipeline.types import ProcessSettings, Sentence


@pytest.mark.parametrize(
    ("raw", "lang", "expected"),
    [
        ("«Non!» cria-t-elle.", "fra+eng", "« Non ! » cria-t-elle."),
        ("« Que veux-tu ? » reprit Mme Leclerc ;", "fra", "« Que veux-tu ? » reprit Mme Leclerc ;"),
        ("Quoi?! Il est 10:30: voir http://x.fr", "fra", "Quoi ?! Il est 10:30 : voir http://x.fr"),
        ("Le ﬁls ﬂotte\u00a0: oui", "fra", "Le fils flotte : oui"),
        ("|a |'homme a|lait | ici", "fra", "la l’homme allait ici"),
        ("quelqu' un d' autre, l’ esprit", "fra", "quelqu’un d’autre, l’esprit"),
        ("Hello ; world ! It's 10:30 :", "eng", "Hello; world! It’s 10:30:"),
    ],
)
def test_ocr_artefacts_normalised(raw: str, lang: str, expected: str) -> None:
    assert normalise_ocr_line(raw, lang) == expected


def test_ocr_settings_are_checked_and_keep_old_cache_keys() -> None:
    with pytest.raises(ValueError, match="ocr must be one of auto, off, force"):
        ProcessSettings(ocr="sometimes")  # type: ignore[arg-type]
    assert "ocr" not in ProcessSettings().as_dict()
    assert "ocr_lang" not in ProcessSettings().as_dict()
    changed = ProcessSettings(ocr="force", ocr_lang="eng").as_dict()
    assert (changed["ocr"], changed["ocr_lang"]) == ("force", "eng")


def test_language_strings() -> None:
    assert valid_lang("fra")
    assert valid_lang("fra+eng")
    assert valid_lang("chi_sim+eng")
    assert not valid_lang("")
    assert not valid_lang("fra+")
    assert not valid_lang("../etc")


def test_sentence_flags_round_trip_and_stay_out_of_text_sentences() -> None:
    scanned = Sentence("Une phrase lue.", 3, ocr=True, ocr_confidence=91.5)
    assert scanned.to_dict() == {
        "text": "Une phrase lue.",
        "page": 3,
        "ocr": True,
        "ocr_confidence": 91.5,
    }
    assert Sentence.from_dict(scanned.to_dict()) == scanned
    assert Sentence("Un texte.", 1).to_dict() == {"text": "Un texte.", "page": 1}
    assert Sentence.from_dict({"text": "Un texte.", "page": 1}) == Sentence("Un texte.", 1)
