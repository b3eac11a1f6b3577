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
# A letter or a digit: what str.isalnum accepts (\w without the underscore).
_ALNUM = re.compile(r"[^\W_]")
_WORD_TAIL = re.compile(r"[^\W_]\S*")
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
    # One match per such token: from its first letter or digit to its end.
    return len(_WORD_TAIL.findall(text))


def _is_word(token: str) -> bool:
    return _ALNUM.search(token) is not None


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


def _cut_costs(tokens: list[str]) -> list[float]:
    """``_cut_cost`` of each place ``end`` (between tokens ``end - 1`` and ``end``).

    Most places sit between two plain words (``maison`` ``blanche``): there
    the cost is the hard cut's and :func:`_cut_cost` need not run. A place
    needs it when the token before ends in punctuation or the token after
    starts with it (openers, dashes, lone punctuation, abbreviations and
    sentence ends all do), or when the token after may be a conjunction.
    """
    n = len(tokens)
    costs = [_HARD_CUT] * (n + 1)
    costs[n] = 0.0
    plain_end = [token[-1].isalnum() for token in tokens]
    for end in range(1, n):
        nxt = tokens[end]
        if plain_end[end - 1] and nxt[0].isalnum() and not _may_join(nxt):
            continue
        prev = tokens[end - 1]
        cost = _cut_cost(prev, nxt)
        if not _is_word(prev) and not _is_word(nxt):
            cost += 0.5  # between two punctuation tokens: prefer the word side
        costs[end] = cost
    return costs


def _may_join(token: str) -> bool:
    """Could ``token`` (starting with a letter) be a conjunction or ``que``?"""
    word = token.casefold()
    return word in _CONJUNCTIONS or word == "que" or word.startswith(_ELIDED)


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
    is_word = [_ALNUM.search(token) is not None for token in tokens]
    words = [0]
    count = 0
    for flag in is_word:
        count += flag
        words.append(count)
    total = count
    if total <= max_words:
        return [" ".join(tokens)] if tokens else []
    pieces_needed = -(-total // max_words)
    target = total / pieces_needed
    n = len(tokens)
    cuts = _cut_costs(tokens)
    # The cost of a piece of c words, computed as the cost expression always
    # did, term by term in the same order, so ties break the same way.
    balance = [_BALANCE * (c - target) ** 2 for c in range(max_words + 1)]
    short = [c < max_words / 3 for c in range(max_words + 1)]
    inf = float("inf")
    best = [inf] * (n + 1)
    back = [0] * (n + 1)
    best[0] = 0.0
    for end in range(1, n + 1):
        cut = cuts[end]
        reached = words[end]
        lowest = inf
        choice = 0
        for start in range(end - 1, -1, -1):
            c = reached - words[start]
            if c > max_words:
                break
            if c == 0:
                continue
            base = best[start]
            if base == inf:
                continue
            cost = base + _PIECE_COST + cut + balance[c]
            if short[c]:
                cost += _SHORT_PIECE  # "puis," alone reads as debris
            if cost < lowest:
                lowest, choice = cost, start
        best[end], back[end] = lowest, choice
    pieces: list[str] = []
    end = n
    while end > 0:
        start = back[end]
        pieces.append(" ".join(tokens[start:end]))
        end = start
    return pieces[::-1]
