"""Synthetic French prose for the sample book: a small vocabulary and templates.

Everything is drawn from a seeded :class:`random.Random`, so the same seed gives
the same book. The text exercises what the pipeline must cope with: very long
sentences full of commas and conjunctions, dialogue in guillemets with incises,
em-dash dialogue lines, ellipses, abbreviations (M., Mme, Dr, p., J.-C.),
numbers, compound words (peut-être, c’est-à-dire, dit-il) and French spacing
(a non-breaking space before ``! ? : ;`` and inside guillemets).
"""

from __future__ import annotations

import random

NBSP = "\u00a0"

# fmt: off
_PEOPLE = [
    "Antoine", "Claire", "Julien", "Madeleine", "Lucien", "Odette", "Bastien", "Margot",
    "M. Dupont", "Mme Leclerc", "le Dr Morel", "Mlle Rivière", "le vieux Mathurin",
]
_PLACES = [
    "près de la gare", "sur le vieux port", "au milieu de la place du marché",
    "devant l’église Saint-Martin", "dans la rue des Tanneurs", "au fond du jardin",
    "le long des quais de la Loire", "dans la bibliothèque municipale",
    "au-dessus de la boulangerie", "là-bas, derrière les peupliers",
]
_ACTIONS = [
    "attendait sans rien dire", "regardait la pluie tomber", "relisait une lettre ancienne",
    "marchait lentement", "cherchait ses clefs", "écoutait le vent dans les volets",
    "comptait les voitures qui passaient", "songeait à son enfance", "préparait le café",
    "rangeait des papiers jaunis",
]
_CLAUSES = [
    "la nuit tombait doucement sur la ville", "les cloches sonnaient au loin",
    "personne ne semblait remarquer son absence", "le vent soulevait la poussière du chemin",
    "les commerçants fermaient leurs boutiques", "une odeur de pain chaud montait de la rue",
    "le fleuve charriait des branches arrachées", "les enfants couraient sous les arcades",
    "quelqu’un frappait à la porte de la cuisine", "la lumière déclinait derrière les collines",
    "un chien aboyait obstinément dans la cour voisine",
    "les souvenirs revenaient l’un après l’autre",
]
_FEELINGS = [
    "le cœur serré", "l’esprit ailleurs", "les mains tremblantes", "sans trop y croire",
    "avec une patience extraordinaire", "comme on retient son souffle",
]
_UTTERANCES = [
    "Je ne sais pas", "Il est trop tard", "Nous partirons demain", "Tu as peut-être raison",
    "Personne ne viendra", "C’est-à-dire que je n’en suis pas certain", "Regarde par la fenêtre",
    "Cela ne change rien", "Il faudra bien le lui dire",
]
_QUESTIONS = [
    "Tu crois qu’il viendra", "Où étais-tu passé", "Que veux-tu que je fasse",
    "Est-ce que tu l’as vu", "Pourquoi maintenant",
]
_INCISES = [
    "dit-il", "répondit-elle", "murmura Claire", "fit-il", "reprit Mme Leclerc", "ajouta-t-elle",
    "soupira M. Dupont",
]
# fmt: on
_ASKED = ["demanda-t-il", "demanda Antoine", "s’inquiéta Odette", "reprit Mme Leclerc"]


def _space(rng: random.Random) -> str:
    # French typography: a non-breaking space before ! ? : ; and inside « », so
    # the typesetter never leaves a guillemet or a "?" alone at a line end.
    return NBSP


def _que(word: str, clause: str) -> str:
    """``lorsque`` + ``une odeur`` → ``lorsqu’une odeur`` (French elision)."""
    return f"{word[:-1]}’{clause}" if clause[0] in "aeiouhéè" else f"{word} {clause}"


class Prose:
    """Generates sentences and paragraphs from one seeded random stream."""

    def __init__(self, seed: int) -> None:
        # Reproducible text, not secrets: a seeded PRNG is exactly what we want.
        self.rng = random.Random(seed)  # noqa: S311

    def pick(self, items: list[str]) -> str:
        return self.rng.choice(items)

    def subject(self) -> str:
        who = self.pick(_PEOPLE)
        return who[0].upper() + who[1:]

    def simple(self) -> str:
        return f"{self.subject()} {self.pick(_ACTIONS)} {self.pick(_PLACES)}."

    def long(self) -> str:
        """A sentence of 40+ words: commas, conjunctions, a relative clause."""
        parts = [
            f"{_que('Pendant que', self.pick(_CLAUSES))}, {self.pick(_PEOPLE)} "
            f"{self.pick(_ACTIONS)}",
            f"{self.pick(_PLACES)}, {self.pick(_FEELINGS)}",
            f"et {self.pick(_CLAUSES)}",
            f"mais {self.pick(_CLAUSES)}, {_que('parce que', self.pick(_CLAUSES))}",
            f"puis, {_que('lorsque', self.pick(_CLAUSES))}, {self.pick(_PEOPLE)} "
            f"{self.pick(_ACTIONS)}",
            f"{self.pick(_FEELINGS)}, comme quelqu’un qui ne sait plus très bien ce qu’il attend",
        ]
        return ", ".join(parts[:2]) + " " + ", ".join(parts[2:]) + "."

    def numbers(self) -> str:
        rng = self.rng
        choices = [
            f"Le train de {rng.randint(6, 22)} h {rng.randint(0, 59):02d} arriva avec "
            f"{rng.randint(3, 45)} minutes de retard.",
            f"En {rng.randint(1850, 1939)}, la maison comptait {rng.randint(4, 19)} pièces et "
            f"plus de {rng.randint(2, 30)}{NBSP}000 livres.",
            f"Il paya {rng.randint(2, 90)},{rng.randint(0, 99):02d} francs pour un dîner "
            f"qui en valait à peine la moitié.",
            f"La température tomba à {rng.randint(1, 9)}.{rng.randint(1, 9)} degrés "
            f"vers {rng.randint(2, 5)} heures du matin.",
        ]
        return self.pick(choices)

    def learned(self) -> str:
        """Abbreviations in mid-sentence: p., cf., av. J.-C., n°."""
        rng = self.rng
        choices = [
            f"Le Dr Morel nota l’incident dans son carnet, p. {rng.randint(2, 300)}, "
            f"avec la précision qu’on lui connaissait.",
            f"La borne romaine, datée de {rng.randint(20, 90)} av. J.-C. selon le guide, "
            f"penchait dangereusement vers la route.",
            f"Le dossier n° {rng.randint(1, 99)} portait une note au crayon, cf. "
            f"le registre de la mairie.",
            "M. Dupont et Mme Leclerc se saluèrent froidement, comme chaque matin, "
            "devant la vitrine de J. Verne et fils.",
        ]
        return self.pick(choices)

    def ellipsis(self) -> str:
        choices = [
            "Il attendit… mais personne ne vint.",
            "Et puis… plus rien.",
            "Peut-être… Peut-être pas.",
            f"{self.subject()} hésita un long moment... puis referma la porte.",
        ]
        return self.pick(choices)

    def quoted(self) -> str:
        """Dialogue in guillemets, with incises and a closing punctuation inside."""
        s = _space(self.rng)
        utterance, question = self.pick(_UTTERANCES), self.pick(_QUESTIONS)
        choices = [
            f"«{s}{utterance}, {self.pick(_INCISES)}.{s}»",
            f"«{s}{question}{s}?{s}» {self.pick(_ASKED)}.",
            f"{self.subject()} murmura{s}: «{s}{utterance}.{s}»",
            f"«{s}Non{s}!{s}» cria {self.pick(_PEOPLE)}.",
        ]
        return self.pick(choices)

    def narrative_paragraph(self) -> str:
        makers = [
            self.simple,
            self.simple,
            self.long,
            self.numbers,
            self.learned,
            self.ellipsis,
            self.quoted,
            self.quoted,
        ]
        count = self.rng.randint(3, 7)
        return " ".join(self.rng.choice(makers)() for _ in range(count))

    def dialogue_lines(self) -> list[str]:
        """A few em-dash dialogue lines, one paragraph each."""
        lines = []
        for _ in range(self.rng.randint(2, 5)):
            s = _space(self.rng)
            kind = self.rng.random()
            if kind < 0.4:
                lines.append(f"— {self.pick(_UTTERANCES)}, {self.pick(_INCISES)}.")
            elif kind < 0.7:
                lines.append(f"— {self.pick(_QUESTIONS)}{s}? {self.pick(_ASKED)}.")
            else:
                lines.append(f"— {self.pick(_UTTERANCES)}{s}!")
        return lines

    def paragraphs(self) -> list[str]:
        """The next paragraph(s): narrative most of the time, sometimes dialogue."""
        if self.rng.random() < 0.25:
            return self.dialogue_lines()
        return [self.narrative_paragraph()]

    def short_paragraph(self) -> str:
        return self.simple()
