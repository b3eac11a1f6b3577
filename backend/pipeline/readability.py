"""Is a page's text layer readable, or garbage that a broken font encoding produced?

A PDF's text layer is only as good as its fonts' maps from glyphs to Unicode.
When that map is missing or wrong the extractor returns, with no error at all,
text that no reader can use: glyph indices as control characters (PDFium on
pages 2-22 of ``TAMReview.pdf``), private-use code points, letters shifted by a
constant ("QH SDV UHPSOLU" for "ne pas remplir": a font whose codes are the
letters' codes plus 3), or letters in a script the document is not written in.
Such a page must be flagged ``TEXT_UNREADABLE`` (it is a candidate for OCR) and
its garbage never emitted as sentences.

:func:`assess_page` judges by character statistics of the extracted text, never
by what the PDF claims about its fonts:

- the share of characters that text never contains (control, private-use,
  unassigned, U+FFFD REPLACEMENT CHARACTER), and of glyph names standing for
  characters (pypdf gives TAMReview's body pages as "/g18/g152/g135...");
- the share of letters outside the Latin script (French and English are all
  Latin; Greek symbols in a formula are a small share);
- the share of words that a list of the ~400 most frequent French and English
  words (``backend/data/common-words.txt``) knows: function words are a third
  to a half of any prose, and almost none of a garbled page; but a table of
  contents of proper names or a code listing may know none either, so a page
  knowing few words is called garbled only if its letter pairs are not those
  of French or English words (the share of its bigrams that occur in the
  common words: >= 0.74 on every real page measured, 0.31 for random letters);
  the share of vowels is measured and reported too;
- if few words are known, whether shifting every letter by the same amount
  makes many more of them known: that is the Caesar case, and its reason says
  so because the cure (OCR, or the font's encoding) is the same but the
  diagnosis is sure.

A page with too little text to judge (fewer than :data:`MIN_JUDGED_CHARS`
letters and suspect characters: a title page, a page number, a figure's
caption) is reported readable: a few words give statistics too noisy to call a
page broken, and such a page has too little text for its loss to matter. It
still gets its measured statistics.

It runs on every page of every PDF, so it works on whole-text operations, not
on a Python loop per character: one ``bytes.translate`` classifies the ASCII
bytes and ``bytes.count`` counts each class; only the distinct non-ASCII
characters are classified one by one (cached); words are a translate and a
split. The letter pairs and the 25 shifts, which cost more, are computed only
on the rare page that knows few words (18 of 967 real pages measured). About
18,000-21,500 pages of 2,000 characters a second per core (CPU time).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files
from operator import add
from string import ascii_lowercase

# Below this many letters and suspect characters a page is not judged.
MIN_JUDGED_CHARS = 40
# Words needed before the known-word share means anything.
MIN_JUDGED_WORDS = 12
# Suspect characters (control, private-use...) as a share of the non-space ones.
MAX_SUSPECT_SHARE = 0.10
# Characters in glyph names ("/g18/g152": pypdf's rendering of glyphs it cannot
# map, TAMReview.pdf) as a share of the non-space ones; looked for only when
# slashes are more than GLYPH_SLASH_SHARE of them (dates and URLs have a few).
MAX_GLYPH_NAME_SHARE = 0.30
GLYPH_SLASH_SHARE = 0.05
# Letters outside the Latin script as a share of all letters.
MAX_NON_LATIN_SHARE = 0.30
# Garbled text is only suspected on a page knowing at most this share of its
# words. Garbled pages measured know up to 0.10 (letters swapped for others,
# "a" and "y" by chance); real pages 0.0 (a table of contents of proper names)
# to 0.6, so this alone cannot decide (docs/processors.md, "Unreadable text
# layers").
SUSPECT_KNOWN_SHARE = 0.15
# ...and decided when fewer than this share of its letter pairs occur in the
# common words. Real pages measured: >= 0.74; random letters 0.31; a
# Caesar-shifted French page 0.24; letters swapped for others 0.18-0.43.
MIN_BIGRAM_SHARE = 0.55
# A Caesar shift is called when the best of the 25 shifts makes this share of
# the words known (the page as extracted knowing at most SUSPECT_KNOWN_SHARE).
CAESAR_MIN_KNOWN_SHARE = 0.20

# The ASCII part of a page is measured on its UTF-8 bytes, each byte turned
# into the letter of its class by one bytes.translate, then counted with
# bytes.count (C speed, no per-character Python); only the non-ASCII characters
# (accents, typographic punctuation: a few per cent of a French page) are
# counted one distinct character at a time.
_VOWEL, _CONSONANT, _CONTROL, _BLANK, _PUNCTUATION, _NON_ASCII = b"vcxbpn"
_ASCII_VOWELS = b"aeiouyAEIOUY"
_ASCII_SPACE = b" \t\n\r"
_ASCII = bytes(range(128))


def _byte_class(byte: int) -> int:
    if byte >= 128:
        return _NON_ASCII
    if byte in _ASCII_VOWELS:
        return _VOWEL
    if chr(byte).isalpha():
        return _CONSONANT
    if byte in _ASCII_SPACE:
        return _BLANK
    # C0 controls but tab, line feed and carriage return, and DEL: glyph
    # indices that a font without a Unicode map leaks (TAMReview.pdf).
    if byte < 32 or byte == 127:
        return _CONTROL
    return _PUNCTUATION


_BYTE_CLASSES = bytes(map(_byte_class, range(256)))
# For words: ASCII letters lowered, every other ASCII byte a space, the bytes
# of non-ASCII characters kept (they are letters or were replaced before).
_WORD_BYTES = bytes(
    byte + 32
    if ord("A") <= byte <= ord("Z")
    else byte
    if byte >= 128 or ord("a") <= byte <= ord("z")
    else ord(" ")
    for byte in range(256)
)
# U+FFFE is how PDFium marks a word hyphenated at a line end ("care\ufffeful"):
# neither garbage nor a word break.
_HYPHEN_MARK = "\ufffe"
# A glyph's name where its character should be: /g18, /cid123, /uni00E9, /glyph7.
_GLYPH_NAMES = re.compile(r"/(?:g|cid|uni|glyph|G)[0-9A-Fa-f]+")
# For the rare slow path: every ASCII non-letter a space (as _WORD_BYTES).
_NON_LETTERS = {byte: " " for byte in range(128) if not chr(byte).isalpha()}
_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüÿæœAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŸÆŒ")
# Every ASCII-letter rotation but the identity, lower case (words are lowered).
_SHIFTS = {
    k: str.maketrans(ascii_lowercase, ascii_lowercase[k:] + ascii_lowercase[:k])
    for k in range(1, 26)
}

_SPACE, _LATIN, _OTHER_LETTER, _SUSPECT, _OTHER = range(5)


@dataclass(frozen=True)
class Readability:
    """The verdict on one page's text, with the statistics it rests on."""

    readable: bool
    # A short message for an operator when not readable, else None.
    reason: str | None
    letters: int
    non_latin_letters: int
    # Control, private-use, unassigned and replacement characters.
    suspect_chars: int
    non_space_chars: int
    # Runs of letters (upper-case accented letters are not lowered, so "État"
    # is not "état" here: a few words a page).
    words: int
    known_words: int
    # Vowels among the Latin letters: 0.3-0.5 in prose, ~0.23 in random letters.
    vowel_share: float
    # Characters in glyph names (/g18), measured only on a page with many slashes.
    glyph_name_chars: int = 0
    # Measured only on a page with few known words (else None): the share of
    # its letter pairs that occur in the common words.
    bigram_share: float | None = None
    # How many places each letter is after the right one on a Caesar-shifted
    # page (1-25), else None.
    caesar_shift: int | None = None

    @property
    def known_share(self) -> float:
        return self.known_words / self.words if self.words else 0.0


def _load_common_words() -> frozenset[str]:
    text = files("backend").joinpath("data/common-words.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


# Loaded once, at import: every page asks.
COMMON_WORDS = _load_common_words()
_COMMON_WORD_BYTES = frozenset(word.encode() for word in COMMON_WORDS)
_COMMON_BIGRAMS = frozenset(word[i : i + 2] for word in COMMON_WORDS for i in range(len(word) - 1))


@cache
def _char_class(char: str) -> int:
    """The class of one non-ASCII character (cached: a page has a few dozen)."""
    if char.isspace() or char == _HYPHEN_MARK:
        return _SPACE
    if char.isalpha():
        return _LATIN if unicodedata.name(char, "").startswith("LATIN") else _OTHER_LETTER
    if unicodedata.category(char) in ("Cc", "Co", "Cs", "Cn") or char == "\ufffd":
        return _SUSPECT
    return _OTHER


def _bigram_share(words: list[str]) -> float:
    """The share of the words' letter pairs that occur in some common word."""
    joined = " ".join(words)
    pairs = Counter(map(add, joined, joined[1:]))
    total = common = 0
    for pair, count in pairs.items():
        if " " not in pair:
            total += count
            common += count if pair in _COMMON_BIGRAMS else 0
    return common / total if total else 1.0


def _caesar_shift(words: list[str]) -> tuple[int, int]:
    """The rotation (1-25) that makes the most words known, and how many it knows."""
    joined = " ".join(words)
    best_shift, best_known = 0, 0
    for shift, table in _SHIFTS.items():
        count = sum(map(COMMON_WORDS.__contains__, joined.translate(table).split()))
        if count > best_known:
            best_shift, best_known = shift, count
    return best_shift, best_known


def assess_page(text: str) -> Readability:
    """Judge whether ``text`` (one page, as extracted) is readable text."""
    data = text.encode("utf-8", "surrogatepass")
    classes = data.translate(_BYTE_CLASSES)
    vowels = classes.count(_VOWEL)
    latin = vowels + classes.count(_CONSONANT)
    suspect = classes.count(_CONTROL)
    other = classes.count(_PUNCTUATION)
    other_letters = 0
    word_bytes = data
    if not text.isascii():
        non_ascii = data.translate(None, _ASCII).decode("utf-8", "surrogatepass")
        for char in set(non_ascii):
            count = non_ascii.count(char)
            kind = _char_class(char)
            if kind == _LATIN:
                latin += count
                vowels += count if char in _VOWELS else 0
            elif kind == _OTHER_LETTER:
                other_letters += count
            else:
                suspect += count if kind == _SUSPECT else 0
                other += count if kind == _OTHER else 0
                # Not part of a word: typographic quotes, dashes, no-break spaces.
                word_bytes = word_bytes.replace(
                    char.encode("utf-8", "surrogatepass"), b"" if char == _HYPHEN_MARK else b" "
                )
    letters = latin + other_letters
    non_space = letters + suspect + other
    tokens = word_bytes.translate(_WORD_BYTES).split()
    words = len(tokens)
    page = Readability(
        readable=True,
        reason=None,
        letters=letters,
        non_latin_letters=other_letters,
        suspect_chars=suspect,
        non_space_chars=non_space,
        words=words,
        known_words=sum(map(_COMMON_WORD_BYTES.__contains__, tokens)),
        vowel_share=vowels / latin if latin else 0.0,
    )
    if letters + suspect < MIN_JUDGED_CHARS:
        return page
    if suspect > MAX_SUSPECT_SHARE * non_space:
        return replace(
            page,
            readable=False,
            reason=(
                f"{suspect} of {non_space} characters are control, private-use or "
                "replacement characters (the font has no usable Unicode map)"
            ),
        )
    if data.count(b"/") > GLYPH_SLASH_SHARE * non_space:
        page = replace(page, glyph_name_chars=sum(map(len, _GLYPH_NAMES.findall(text))))
        if page.glyph_name_chars > MAX_GLYPH_NAME_SHARE * non_space:
            return replace(
                page,
                readable=False,
                reason=(
                    f"{page.glyph_name_chars} of {non_space} characters are glyph names "
                    "such as /g18 (the font has no usable Unicode map)"
                ),
            )
    if other_letters > MAX_NON_LATIN_SHARE * letters:
        return replace(
            page,
            readable=False,
            reason=(
                f"{other_letters} of {letters} letters are outside the Latin script "
                "(a broken font encoding, or a language Quire does not read)"
            ),
        )
    if words < MIN_JUDGED_WORDS or page.known_share > SUSPECT_KNOWN_SHARE:
        return page
    # Few known words: a table of contents of names, a code listing... or
    # garbage. Rare on real pages, so the slower measures run only here.
    decoded = word_bytes.decode("utf-8", "surrogatepass").translate(_NON_LETTERS).lower().split()
    bigram_share = _bigram_share(decoded)
    page = replace(page, bigram_share=bigram_share)
    if bigram_share >= MIN_BIGRAM_SHARE:
        # Letter pairs of French or English: names, identifiers, abbreviations.
        return page
    rotation, known_after = _caesar_shift(decoded)
    if known_after >= max(CAESAR_MIN_KNOWN_SHARE * words, 2 * page.known_words):
        shift = 26 - rotation
        return replace(
            page,
            readable=False,
            caesar_shift=shift,
            reason=(
                f"the text layer looks Caesar-shifted: each letter is {shift} places "
                f"after the right one, and undoing that makes {known_after} of {words} "
                "words common French or English words (font encoding broken)"
            ),
        )
    return replace(
        page,
        readable=False,
        reason=(
            f"the letters look random: only {page.known_words} of {words} words "
            f"are common French or English words and {bigram_share:.0%} of the "
            "letter pairs occur in them (font encoding broken)"
        ),
    )
