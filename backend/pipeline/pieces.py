"""Cutting long sentences into pieces of at most N words, at clause boundaries.

"Words" are whitespace-separated tokens. :func:`split_long` counts only tokens
that contain a letter or a digit toward ``max_words``; lone punctuation (``—``,
``»``, ``!``) rides along with its neighbours.
"""

from __future__ import annotations

import re

_TERMINALS = ".!?…"
_CLOSERS = "»”\"')]’"
_OPENERS = "«“\"([‘'—–-"
_TRAILING = frozenset(_CLOSERS + ".!?…,;:")
_DASHES = frozenset({"—", "–"})

# fmt: off
ABBREVIATIONS = frozenset({
    "m", "mm", "mme", "mmes", "mlle", "mlles", "mgr", "me", "dr", "pr", "st", "ste", "sts",
    "p", "pp", "cf", "av", "apr", "vol", "chap", "ch", "éd", "ed", "fig", "env", "art",
    "coll", "hab", "bd", "boul", "cie", "ex", "t", "nº",
})
_INITIALS = re.compile(r"(?:[A-ZÀ-Ý]\.-?)*[A-ZÀ-Ý]")

_CONJUNCTIONS = frozenset({
    "et", "mais", "ou", "donc", "or", "ni", "car", "puis", "qui", "que", "quand", "lorsque",
    "puisque", "parce", "tandis", "comme", "si",
})
_ELIDED = ("qu'", "qu’", "lorsqu'", "lorsqu’", "puisqu'", "puisqu’")
# "que" right after these is part of a locution ("parce que", "alors que"):
# the clause starts one word earlier, so cutting before "que" reads badly.
_QUE_LOCUTIONS = frozenset({
    "parce", "alors", "bien", "afin", "tandis", "pendant", "avant", "après", "dès", "depuis",
    "sans", "pour", "ainsi", "même", "de", "à",
})
# fmt: on

# split_long's costs: a piece, a cut by kind, and imbalance (see _cut_cost).
_PIECE_COST = 3.0
_HARD_CUT = 12.0
_FORBIDDEN_CUT = 60.0
_BALANCE = 0.15
_SHORT_PIECE = 8.0


def is_abbreviation(core: str) -> bool:
    """Is ``core`` (a token ending in ``.``) a known abbreviation or an initial?"""
    if core.endswith(".."):
        return False  # an ellipsis written with periods
    stem = core[:-1].lstrip(_OPENERS)
    return stem.casefold() in ABBREVIATIONS or bool(_INITIALS.fullmatch(stem))


def count_words(text: str) -> int:
    """Tokens that hold a letter or a digit: what ``max_words`` limits."""
    return sum(1 for token in text.split() if _is_word(token))


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def _cut_cost(prev: str, nxt: str) -> float:
    """How good a place between ``prev`` and ``nxt`` is to cut a sentence."""
    if all(ch in _TRAILING for ch in nxt) or (prev and all(ch in "«“(" for ch in prev)):
        return _FORBIDDEN_CUT  # never strand "»" or "!" or leave "«" dangling
    if prev.rstrip(_CLOSERS)[-1:] in (",", ";", ":") or nxt in _DASHES:
        return 0.0
    if prev.endswith(".") and is_abbreviation(prev):
        return _HARD_CUT + 6.0  # "M." | "Dupont" is the worst plain cut
    if prev in _DASHES or prev.rstrip(_CLOSERS)[-1:] in tuple(_TERMINALS):
        return 1.0
    word = nxt.lstrip(_OPENERS).casefold()
    if word == "que" or word.startswith(_ELIDED[:2]):
        return _HARD_CUT if prev.casefold() in _QUE_LOCUTIONS else 3.0
    if word in _CONJUNCTIONS or word.startswith(_ELIDED):
        return 3.0
    return _HARD_CUT


def split_long(sentence: str, max_words: int) -> list[str]:
    """Cut ``sentence`` into pieces of at most ``max_words`` words.

    Cuts go preferably after ``,`` ``;`` ``:`` and before a dash, then before a
    conjunction (et, mais, ou, donc, qui, que, lorsque, parce que...), and only
    as a last resort between any two words; among the possible cuttings the
    cheapest wins, a cost that also counts pieces and their imbalance.
    Joining the pieces' tokens gives back the sentence's tokens exactly.
    """
    if max_words < 1:
        raise ValueError("max_words must be at least 1")
    tokens = sentence.split()
    words = [0]
    for token in tokens:
        words.append(words[-1] + _is_word(token))
    total = words[-1]
    if total <= max_words:
        return [" ".join(tokens)] if tokens else []
    pieces_needed = -(-total // max_words)
    target = total / pieces_needed
    n = len(tokens)
    inf = float("inf")
    best = [inf] * (n + 1)
    back = [0] * (n + 1)
    best[0] = 0.0
    for end in range(1, n + 1):
        cut = 0.0 if end == n else _cut_cost(tokens[end - 1], tokens[end])
        if end < n and not _is_word(tokens[end - 1]) and not _is_word(tokens[end]):
            cut += 0.5  # between two punctuation tokens: prefer the word side
        for start in range(end - 1, -1, -1):
            count = words[end] - words[start]
            if count > max_words:
                break
            if count == 0 or best[start] == inf:
                continue
            cost = best[start] + _PIECE_COST + cut + _BALANCE * (count - target) ** 2
            if count < max_words / 3:
                cost += _SHORT_PIECE  # "puis," alone reads as debris
            if cost < best[end]:
                best[end], back[end] = cost, start
    pieces: list[str] = []
    end = n
    while end > 0:
        start = back[end]
        pieces.append(" ".join(tokens[start:end]))
        end = start
    return pieces[::-1]
