"""French-aware sentence segmentation.

Segmentation works on cleaned text (see :mod:`backend.pipeline.clean`) where a
newline is a hard break: a sentence always starts after one. Elsewhere a
sentence may end after a token whose text ends in ``.``, ``!``, ``?`` or ``…``
(possibly followed by closing ``»`` ``”`` ``)`` as part of the token or as up
to two tokens of their own); it does when the next word starts with a capital,
a digit, an opening guillemet or a dialogue dash (``—``, ``–``, or a lone
``-`` as in lists and hyphen-set dialogue). So ``« Viens ! » cria-t-il.`` and
``Et puis… rien.`` stay whole, and ``« Bonjour, dit-il. » Il partit.`` is two
sentences. After a plain period (not an ellipsis, not inside closing quotes) a
lower-case word starts a sentence too: ``… de l'Afrique. il faut …`` is two,
as in unedited web and press text, while ``« Viens. » dit-elle`` keeps its
incise. A period does not end a sentence after a known abbreviation (``M.``,
``Mme.``, ``p.``, ``cf.``, ``J.-C.``...) or a single capital initial
(``J. Verne``); ``etc.`` ends one only before a capital; a number such as
``3.14`` is one token and never splits; a list number (``1.``, ``iii.``) right
after a sentence end or at the start of a line opens the item instead of
ending a sentence (``… son pays. 1. À partir …``).

Every decision looks only at the tokens around the boundary (one back, two
ahead), never at a running state such as "inside quotes": text that starts
mid-sentence segments exactly like the same text read from further back.

Candidates are found by a compiled regex that scans each line for closing
punctuation at a token end; only the few tokens that end in sentence
punctuation reach Python code. Scores against the
Universal Dependencies French gold are in docs/processors.md.

:func:`split_long` and :func:`count_words` live in :mod:`backend.pipeline.pieces`
and are re-exported here.
"""

from __future__ import annotations

import re

from backend.pipeline.pieces import ABBREVIATIONS, count_words, is_abbreviation, split_long

__all__ = [
    "ABBREVIATIONS",
    "count_words",
    "sentence_spans",
    "split_long",
    "split_sentences",
]

_CLOSERS = "»”\"')]’"
_OPENERS = "«“\"([‘'—–-"
_CLOSER_CLASS = re.escape(_CLOSERS)

# A token ending in sentence punctuation (closers may follow, attached or as up
# to two lone tokens) is found from its punctuation: _PUNCTUATION_END finds
# where a token's closing punctuation starts (a fast scan for one character
# class), the token starts after the space before it, and _LONE_CLOSERS takes
# the lone closers after it.
_PUNCTUATION_END = re.compile(rf"[.!?…;][{_CLOSER_CLASS}]*(?!\S)")
_LONE_CLOSERS = re.compile(rf"(?:\s+[{_CLOSER_CLASS}]+){{0,2}}(?!\S)")
# The next token and the one after it.
_NEXT = re.compile(r"\s*(\S+)(?:\s+(\S+))?")
_LINE = re.compile(r"[^\n]+")
_SPACE = re.compile(r"\s")
_TOKEN = re.compile(r"\S+")
_ALL_TRAILING = re.compile(rf"[{_CLOSER_CLASS}.!?…,;:]+")
_LIST_NUMBER = re.compile(r"[(\[]?(?:\d{1,2}|[ivxIVX]{1,4})[.)]")
_DIALOGUE = frozenset({"—", "–", "-"})
# Abbreviations that may end a sentence: they split before a capital (that
# rule is the old one) but not before a lower-case word ("etc. et puis").
_MAY_END = frozenset({"etc", "cf", "resp", "ibid", "op", "cit", "c.-à-d", "c-à-d", "i.e", "e.g"})


def _starts_sentence(word: str, after: str | None) -> bool:
    """Does the token ``word`` (followed by ``after``) open a sentence?"""
    head = word.lstrip(_OPENERS)
    if not head:  # a lone « or dash: look at the word it opens
        if word in _DIALOGUE or word.startswith("«"):
            return True
        head = after.lstrip(_OPENERS) if after else ""
    return head[:1].isupper() or head[:1].isdigit()


def _list_number_opens(text: str, line_start: int, token_start: int, core: str) -> bool:
    """Is ``core`` a list number (``2.``, ``iii)``) opening an item, not a sentence end?"""
    if not _LIST_NUMBER.fullmatch(core):
        return False
    end = token_start
    while end > line_start and text[end - 1].isspace():
        end -= 1
    if end == line_start:
        # After a hard break, a known sentence start; the text's own start is
        # not known to be one (a chunk may start reading mid-sentence).
        return line_start > 0
    while end > line_start and text[end - 1] in _CLOSERS:
        end -= 1
    return text[end - 1] in ".!?…;:"


def _ends_sentence(
    text: str, line_start: int, token_start: int, token: str, lone: str, nxt: re.Match[str]
) -> bool:
    """Does a sentence end after ``token`` (ending in punctuation, ``lone`` closers after)?"""
    word = nxt.group(1)
    if _ALL_TRAILING.fullmatch(word):
        return False  # "!" or "»" after a word belongs to the same sentence
    core = token.rstrip(_CLOSERS)
    if core[-1:] == ";":
        # A capital after a semicolon, where French writes lower case, starts
        # a new sentence (the gold agrees every time); so does a list number.
        return word[:1].isupper() or bool(_LIST_NUMBER.fullmatch(word))
    if not core or core[-1] not in ".!?…":
        return False
    plain_period = core[-1] == "." and not lone
    if plain_period and is_abbreviation(core):
        return False
    if _starts_sentence(word, nxt.group(2)):
        return not _list_number_opens(text, line_start, token_start, core)
    # A lower-case start: only after a plain period ending the token itself.
    return (
        plain_period
        and core == token
        and not core.endswith("..")
        and word[:1].isalpha()
        and core[:-1].lstrip(_OPENERS).casefold() not in _MAY_END
        and not (len(core) == 2 and core[0].isalpha())  # "a." "b.": list letters, initials
    )


def _token_start(text: str, lowest: int, inside: int) -> int:
    """Where the token holding ``text[inside]`` starts (no earlier than ``lowest``)."""
    start = text.rfind(" ", lowest, inside) + 1 or lowest
    if _SPACE.search(text, start, inside):  # another kind of space: rare
        start = inside
        while start > lowest and not text[start - 1].isspace():
            start -= 1
    return start


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of each sentence of ``text``, in order.

    Offsets cover the first to the last character of the sentence's tokens,
    so ``text[start:end]`` never starts or ends with whitespace.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        line_start, line_end = line.span()
        first = _TOKEN.search(text, line_start, line_end)
        if first is None:
            continue
        start = first.start()
        search_from = start
        while punctuation := _PUNCTUATION_END.search(text, search_from, line_end):
            token_start = _token_start(text, search_from, punctuation.start())
            token_end = punctuation.end()
            closers = _LONE_CLOSERS.match(text, token_end, line_end)
            end = closers.end() if closers else token_end
            search_from = end
            nxt = _NEXT.match(text, end, line_end)
            if nxt is None:
                break  # the line's last token: the line end closes the sentence
            token, lone = text[token_start:token_end], closers.group() if closers else ""
            if _ends_sentence(text, line_start, token_start, token, lone, nxt):
                spans.append((start, end))
                start = nxt.start(1)
        spans.append((start, len(text[line_start:line_end].rstrip()) + line_start))
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see :func:`sentence_spans`), whitespace untouched."""
    return [text[start:end] for start, end in sentence_spans(text)]
