"""How guessable a secret is: an estimate of its entropy in bits, and what makes it weak.

Length alone says little: "ab" * 20 is 40 characters and about 20 bits. The estimate reads the
key as the cheapest sequence of pieces an attacker's guesser would try: dictionary words,
repeats of what came before, runs along the alphabet or a keyboard row, separators between
words, and otherwise single characters, each worth what a random character from the classes the
key uses (lower case, upper case, digits, symbols) is worth. A random key of 32+ characters
(`secrets.token_urlsafe(32)`, `secrets.token_hex(32)`) estimates at 150+ bits; a phrase of
dictionary words, a pattern or a keyboard walk at far fewer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# NIST SP 800-131A: 112 bits is the least security strength for an HMAC key.
MIN_SECRET_BITS = 112
# Past this many characters a key is judged by its first ones (the estimate is cubic in length).
MAX_ANALYSED = 256

# Words people put in secrets (placeholders, defaults, the obvious) and common English words
# passphrases are made of. Each costs about as much as picking one word from a list this size.
_WORD_LIST = """
    secret secrets password passwd passphrase pass changeme changethis change example sample
    default dummy placeholder insecure unsafe test testing tests demo development develop dev
    production prod staging local localhost admin administrator root user login letmein welcome
    qwerty dragon monkey master shadow sunshine princess football baseball iloveyou trustno
    token tokens key keys jwt hmac hs256 sign signing signature auth authentication session
    cookie api app application server service backend frontend web site catalog store shop
    private public super very really long longer strong random string value config setting
    settings env environment django flask rails laravel spring node express fastapi starlette
    hello world foo bar baz abc xyz my mine your our the this that these those with without
    for from into and not but all any one two three four five six seven eight nine ten
    is are was be been being have has had do does did will would shall should can could may
    might must need needs enough more most less few many much some such only own same so than
    too just now new old good bad big small high low first last next other another each every
    make made use used get got set put go going come see know think take give find tell ask
    work works call try keep let begin seem help show hear play run move live believe hold
    bring happen write provide sit stand lose pay meet include continue learn lead understand
    watch follow stop create speak read allow add spend grow open walk win offer remember love
    consider appear buy wait serve die send expect build stay fall cut reach kill remain
    suggest raise pass sell require report decide pull time year people way day man woman
    thing life child world school state family student group country problem hand part place
    case week company system program question number night point home water room mother area
    money story fact month lot right study book eye job word business issue side kind head
    house friend father power hour game line end member law car city community name president
    team minute idea kid body information back parent face others level office door health
    person art war history party result morning reason research girl guy moment air teacher
    force education black white red blue green yellow orange purple gray silver gold apple
    banana cherry horse battery staple correct tiger lion eagle summer winter spring autumn
    january february march april june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday password1 admin123 abc123
"""
WORDS = frozenset(_WORD_LIST.split())
WORD_BITS = math.log2(len(WORDS))
LONGEST_WORD = max(map(len, WORDS))

# Rows a finger or the alphabet walks along; a run may go either way.
RUNS = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiop", "asdfghjkl", "zxcvbnm")
RUN_BITS = 6.0  # which run, where it starts, which way, how long
REPEAT_BITS = 8.0  # where the repeated text was, how long it is
SEPARATORS = frozenset(" -_.,:;/+")
SEPARATOR_BITS = 2.0  # one of a few usual separators
CLASS_SIZES = {"lower": 26, "upper": 26, "digit": 10, "symbol": 33}


@dataclass(frozen=True)
class Strength:
    bits: float
    weaknesses: tuple[str, ...]  # kinds of guessable pieces found, e.g. "a dictionary word"

    @property
    def weak(self) -> bool:
        return self.bits < MIN_SECRET_BITS


def _class_of(char: str) -> str:
    if char.islower():
        return "lower"
    if char.isupper():
        return "upper"
    return "digit" if char.isdigit() else "symbol"


def _char_bits(key: str) -> float:
    """What one character of a random key drawn from the classes `key` uses is worth."""
    return math.log2(sum(CLASS_SIZES[kind] for kind in {_class_of(char) for char in key}))


def _is_run(piece: str) -> bool:
    return any(piece in row or piece in row[::-1] for row in RUNS)


def _pieces_at(folded: str, start: int, char_bits: float) -> list[tuple[int, float, str | None]]:
    """(end, bits, weakness) of each guessable piece starting at `start`, a character included."""
    single = SEPARATOR_BITS if folded[start] in SEPARATORS else char_bits
    pieces: list[tuple[int, float, str | None]] = [(start + 1, single, None)]
    for end in range(start + 2, len(folded) + 1):
        piece = folded[start:end]
        if 3 <= end - start <= LONGEST_WORD:
            if piece in WORDS:
                pieces.append((end, WORD_BITS, "a dictionary word"))
            if _is_run(piece):
                pieces.append((end, RUN_BITS, "a keyboard or alphabet run"))
        # A copy of text that starts earlier (it may overlap the piece: "abababab" is "ab" and
        # a copy of itself shifted by two).
        if end - start >= 3 and folded.find(piece, 0, end - 1) != -1:
            pieces.append((end, REPEAT_BITS, "repetition"))
    return pieces


def estimate(key: str) -> Strength:
    """The cheapest reading of `key` as guessable pieces: its estimated entropy and why."""
    key = key[:MAX_ANALYSED]
    folded = key.lower()
    size = len(key)
    char_bits = _char_bits(key) if key else 0.0
    # best[i]: the cheapest cost of key[:i], and the weaknesses along that reading.
    none: tuple[str, ...] = ()
    best = [(0.0, none)] + [(math.inf, none)] * size
    for start in range(size):
        cost, found = best[start]
        for end, bits, weakness in _pieces_at(folded, start, char_bits):
            if cost + bits < best[end][0]:
                kinds = found if weakness is None or weakness in found else (*found, weakness)
                best[end] = (cost + bits, kinds)
    bits, weaknesses = best[size]
    return Strength(bits=bits, weaknesses=weaknesses)


def weakness_of(key: str, min_length: int) -> str | None:
    """Why `key` is too weak to sign tokens with, or None when it is not."""
    if len(key) < min_length:
        return f"it is shorter than {min_length} characters"
    strength = estimate(key)
    if not strength.weak:
        return None
    because = " and ".join(strength.weaknesses) or "too few kinds of characters"
    return (
        f"it is too predictable (about {strength.bits:.0f} bits of entropy, "
        f"{MIN_SECRET_BITS} needed: {because})"
    )
