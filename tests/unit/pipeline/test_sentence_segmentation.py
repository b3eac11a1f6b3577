"""French sentence segmentation: punctuation, quotes, dialogue, abbreviations."""

from __future__ import annotations

import pytest

from backend.pipeline.segment import sentence_spans, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Il pleut. Elle sort.", ["Il pleut.", "Elle sort."]),
        ("Quoi ?! Non !! Bon... Enfin.", ["Quoi ?!", "Non !!", "Bon...", "Enfin."]),
        ("Tu viens ? Oui.", ["Tu viens ?", "Oui."]),
        ("Et puis… rien du tout.", ["Et puis… rien du tout."]),
        ("Et puis… Rien.", ["Et puis…", "Rien."]),
        ("Il hésita... puis partit.", ["Il hésita... puis partit."]),
        ("M. Dupont arriva. Mme Leclerc aussi.", ["M. Dupont arriva.", "Mme Leclerc aussi."]),
        ("MM. Dupont et Durand vinrent.", ["MM. Dupont et Durand vinrent."]),
        ("Le Dr. Morel et Mlle. Rivière.", ["Le Dr. Morel et Mlle. Rivière."]),
        ("Voir p. 12 et cf. Annexe.", ["Voir p. 12 et cf. Annexe."]),
        ("Né en 52 av. J.-C. César régnait.", ["Né en 52 av. J.-C. César régnait."]),
        ("Il lisait J. Verne avec passion.", ["Il lisait J. Verne avec passion."]),
        ("Le vol. 3 et le chap. 2 sont perdus.", ["Le vol. 3 et le chap. 2 sont perdus."]),
        ("Il fit 3.14 pas. Puis 1.000 autres.", ["Il fit 3.14 pas.", "Puis 1.000 autres."]),
        ("Le dossier n° 5 est clos. Le suivant.", ["Le dossier n° 5 est clos.", "Le suivant."]),
        ("Il vint en 1852. 1853 fut pire.", ["Il vint en 1852.", "1853 fut pire."]),
        ("« Bonjour, dit-il. » Il partit.", ["« Bonjour, dit-il. »", "Il partit."]),
        ("« Viens ! » cria-t-elle.", ["« Viens ! » cria-t-elle."]),
        ("« Tu viens ? » demanda-t-il. Non.", ["« Tu viens ? » demanda-t-il.", "Non."]),
        ("Il dit : « Oui. » Puis rien.", ["Il dit : « Oui. »", "Puis rien."]),
        ("« Oui. Non. »", ["« Oui.", "Non. »"]),
        ("« Assez !» Elle sortit.", ["« Assez !»", "Elle sortit."]),
        ("Il partit (enfin.) Elle resta.", ["Il partit (enfin.)", "Elle resta."]),
        ("Oui. — Non, dit-il.", ["Oui.", "— Non, dit-il."]),
        ("Il dit :\n— Oui, répondit-elle.", ["Il dit :", "— Oui, répondit-elle."]),
        ("— Tu viens ?\n— oui, fit-il.", ["— Tu viens ?", "— oui, fit-il."]),
        ("Fin. « Début. »", ["Fin.", "« Début. »"]),
        ("etc. Puis la suite.", ["etc.", "Puis la suite."]),
        ("sans point final", ["sans point final"]),
        # What the UD French gold showed (tests/fixtures/ud-french).
        ("de l'Afrique. il faut agir.", ["de l'Afrique.", "il faut agir."]),
        ('un "dispositif". la Fédération', ['un "dispositif".', "la Fédération"]),
        ("« Viens. » dit-elle.", ["« Viens. » dit-elle."]),
        ("Il partit (enfin.) puis revint.", ["Il partit (enfin.) puis revint."]),
        ("etc. et puis la suite.", ["etc. et puis la suite."]),
        ("La lettre a. puis b.", ["La lettre a. puis b."]),
        ("le devenir. - si vous allaitez.", ["le devenir.", "- si vous allaitez."]),
        ("son pays. 1. À partir de là.", ["son pays.", "1. À partir de là."]),
        ("Fin.\n2. Toute personne.", ["Fin.", "2. Toute personne."]),
        ("les destinataires ; 2. Toute personne.", ["les destinataires ;", "2. Toute personne."]),
        ("on n'en revenait pas ; Selon lui.", ["on n'en revenait pas ;", "Selon lui."]),
        ("il attendit ; elle partit.", ["il attendit ; elle partit."]),
        ("Il vint en 12. Puis rien.", ["Il vint en 12.", "Puis rien."]),
        ("", []),
    ],
)
def test_splits_french_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_spans_point_into_the_text() -> None:
    text = "  Il pleut.  Elle sort.\n— Oui. "
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["Il pleut.", "Elle sort.", "— Oui."]


@pytest.mark.parametrize(
    "text",
    [
        "Il pleut. « Viens, dit-il. » M. Dupont sortit… et puis ? Rien ! Fin.",
        "« Tu viens ? » demanda-t-il. Il attendit… Personne. Le Dr Morel, p. 3, nota.",
    ],
)
def test_segmentation_is_local_so_a_suffix_segments_the_same(text: str) -> None:
    whole = split_sentences(text)
    words = text.split()
    for cut in range(1, len(words)):
        suffix = split_sentences(" ".join(words[cut:]))
        # Everything after the suffix's first (possibly partial) sentence agrees.
        assert suffix[1:] == whole[len(whole) - len(suffix) + 1 :]
