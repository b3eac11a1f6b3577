"""Cutting long sentences into pieces of at most N words, at clause boundaries.

"Words" are whitespace-separated tokens. :func:`split_long` counts only tokens
that contain a letter or a digit toward ``max_words``; lone punctuation (``—``,
``»``, ``!``) rides along with its neighbours.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import cast

_TERMINALS = ".!?…"
_CLOSERS = "»”\"')]’"
_OPENERS = "«“\"([‘'—–-"
_TRAILING_CHARS = _CLOSERS + ".!?…,;:"
_TERMINAL_ENDS = tuple(_TERMINALS)
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

# Memos for _cut_costs (see _token_codes): facts per token, a cost per pair of facts.
_TOKEN_CACHE_SIZE = 100_000
_TOKEN_CODES: dict[str, tuple[int, int]] = {}
_PAIR_COSTS: list[float | None] = [None] * (64 * 32)

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


_LETTER = re.compile(r"[^\W\d_]")


def has_letter(text: str) -> bool:
    """Whether ``text`` holds a letter: a piece without one (a table's sums, a
    year alone, a list of numbers cut to length, a lone dash) is no sentence
    for a reader, and processors drop it (counted in the chunk's metadata)."""
    return _LETTER.search(text) is not None


def count_words(text: str) -> int:
    """Tokens that hold a letter or a digit: what ``max_words`` limits."""
    # One match per such token: from its first letter or digit to its end.
    return len(_WORD_TAIL.findall(text))


def _is_word(token: str) -> bool:
    return _ALNUM.search(token) is not None


def _cut_cost(prev: str, nxt: str) -> float:
    """How good a place between ``prev`` and ``nxt`` is to cut a sentence."""
    # str.strip(chars) leaves nothing exactly when every character is one of them.
    if not nxt.strip(_TRAILING_CHARS) or (prev and not prev.strip("«“(")):
        return _FORBIDDEN_CUT  # never strand "»" or "!" or leave "«" dangling
    if prev.rstrip(_CLOSERS)[-1:] in (",", ";", ":") or nxt in _DASHES:
        return 0.0
    if prev.endswith(".") and is_abbreviation(prev):
        return _HARD_CUT + 6.0  # "M." | "Dupont" is the worst plain cut
    if prev in _DASHES or prev.rstrip(_CLOSERS)[-1:] in _TERMINAL_ENDS:
        return 1.0
    word = nxt.lstrip(_OPENERS).casefold()
    if word == "que" or word.startswith(_ELIDED[:2]):
        return _HARD_CUT if prev.casefold() in _QUE_LOCUTIONS else 3.0
    if word in _CONJUNCTIONS or word.startswith(_ELIDED):
        return 3.0
    return _HARD_CUT


def _token_codes(token: str) -> tuple[int, int]:
    """Every fact about ``token`` that :func:`_cut_cost` reads, as two bit sets.

    The first is what it reads of the token before a cut (times 32, so that
    adding the second gives a pair's index in :data:`_PAIR_COSTS`), the second
    what it reads of the token after one; bit 0 of both says it is a word.
    """
    codes = _TOKEN_CODES.get(token)
    if codes is None:
        end = token.rstrip(_CLOSERS)[-1:]
        word = token.lstrip(_OPENERS).casefold()
        is_word = _is_word(token)
        before = _bits(
            is_word,
            bool(token) and not token.strip("«“("),
            end in (",", ";", ":"),
            token.endswith(".") and is_abbreviation(token),
            token in _DASHES or end in _TERMINAL_ENDS,
            token.casefold() in _QUE_LOCUTIONS,
        )
        after = _bits(
            is_word,
            not token.strip(_TRAILING_CHARS),
            token in _DASHES,
            word == "que" or word.startswith(_ELIDED[:2]),
            word in _CONJUNCTIONS or word.startswith(_ELIDED),
        )
        codes = (before * 32, after)
        if len(_TOKEN_CODES) >= _TOKEN_CACHE_SIZE:
            _TOKEN_CODES.clear()  # bounded memory; a miss only costs time
        _TOKEN_CODES[token] = codes
    return codes


def _bits(*facts: bool) -> int:
    return sum(1 << i for i, fact in enumerate(facts) if fact)


def _cut_costs(tokens: list[str], codes: list[tuple[int, int]]) -> list[float]:
    """``_cut_cost`` of each place ``end`` (between tokens ``end - 1`` and ``end``).

    The cost depends only on the facts :func:`_token_codes` records, so it is
    computed once per pair of codes (a few hundred exist) and looked up after.
    ``codes`` are the tokens' :func:`_token_codes`.
    """
    keys = [before[0] + after[1] for before, after in zip(codes, codes[1:], strict=False)]
    costs: list[float | None] = [_PAIR_COSTS[key] for key in keys]
    for i, cost in enumerate(costs):
        if cost is None:
            cost = _cut_cost(tokens[i], tokens[i + 1])
            if not _is_word(tokens[i]) and not _is_word(tokens[i + 1]):
                cost += 0.5  # between two punctuation tokens: prefer the word side
            costs[i] = _PAIR_COSTS[keys[i]] = cost
    return [0.0, *cast("list[float]", costs), 0.0]


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
    total = count_words(sentence)
    if total <= max_words:
        return [" ".join(tokens)] if tokens else []
    codes = [_TOKEN_CODES.get(token) or _token_codes(token) for token in tokens]
    words = list(accumulate([after & 1 for _, after in codes], initial=0))
    pieces_needed = -(-total // max_words)
    target = total / pieces_needed
    n = len(tokens)
    cuts = _cut_costs(tokens, codes)
    # The cost of a piece of c words, computed as the cost expression always
    # did, term by term in the same order, so ties break the same way.
    balance = [_BALANCE * (c - target) ** 2 for c in range(max_words + 1)]
    short = [c < max_words / 3 for c in range(max_words + 1)]
    inf = float("inf")
    # started[s]: the best cost up to place s plus the cost of the piece that
    # starts there, the first two terms of every cost from s, summed once.
    started = [inf] * (n + 1)
    started[0] = 0.0 + _PIECE_COST
    back = [0] * (n + 1)
    short_piece = _SHORT_PIECE
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
            cost = started[start] + cut + balance[c]
            if short[c]:
                cost += short_piece  # "puis," alone reads as debris
            if cost < lowest:
                lowest, choice = cost, start
        started[end], back[end] = lowest + _PIECE_COST, choice
    pieces: list[str] = []
    end = n
    while end > 0:
        start = back[end]
        pieces.append(" ".join(tokens[start:end]))
        end = start
    return pieces[::-1]
