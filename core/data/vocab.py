"""Words <-> ids the way Keras encoded IMDB: its `Tokenizer` default split, id = rank + 3, `>` start, `?` unknown."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.data.imdb import INDEX_FROM, OOV, START

PAD = 0
START_MARK, OOV_MARK = ">", "?"
FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'  # Keras `Tokenizer` / `text_to_word_sequence` defaults
_TO_SPACE = bytes.maketrans(FILTERS.encode(), b" " * len(FILTERS))


def split_words(text: str) -> list[str]:
    """The words Keras's `text_to_word_sequence` makes of `text`, the rule the IMDB word index was built with.

    Lower-case, every filter character becomes a space, split on the space character only: accents, apostrophes
    and odd characters such as `\\x85` stay inside words (`cliché`, `it´s`, `don't` and `most\\x85and` are words).
    The filters are ASCII, which UTF-8 never uses inside another character, so translating the UTF-8 bytes is the
    same as Keras's `str.translate`, about five times faster.
    """
    utf8 = text.lower().encode("utf-8", "surrogatepass").translate(_TO_SPACE)
    return list(filter(None, utf8.decode("utf-8", "surrogatepass").split(" ")))


@dataclass(frozen=True)
class Token:
    """One token of typed text and what the model receives for it."""

    text: str  # the word as typed (lower-cased)
    rank: int | None  # frequency rank in the word index, None if absent
    id: int | None  # id fed to the model; None when Keras would drop the word


@dataclass
class Vocabulary:
    """The word index, with a reverse table for decoding."""

    word_to_rank: dict[str, int]
    _rank_to_word: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        table = np.empty(max(self.word_to_rank.values()) + 1, dtype=object)
        table[:] = OOV_MARK
        for word, rank in self.word_to_rank.items():
            table[rank] = word
        self._rank_to_word = table

    @property
    def size(self) -> int:
        return len(self._rank_to_word) - 1

    def word(self, rank: int) -> str | None:
        return self._rank_to_word[rank] if 0 < rank < len(self._rank_to_word) else None

    def id_to_word(self, i: int, num_words: int | None = None) -> str:
        """The word shown for one id: `>` start, `?` unknown or outside `num_words`, '' for padding."""
        if i == PAD:
            return ""
        if i == START:
            return START_MARK
        if i == OOV or (num_words is not None and i >= num_words):
            return OOV_MARK
        return self.word(i - INDEX_FROM) or OOV_MARK

    def decode(self, ids, num_words: int | None = None) -> str:
        """Ids back to text as the tutorials print it (padding skipped)."""
        return " ".join(w for w in (self.id_to_word(int(i), num_words) for i in ids) if w)

    def tokens(self, text: str, num_words: int | None = None) -> list[Token]:
        """Typed text to tokens; a lone `?` is an unknown word and a leading `>` the start mark, so decoded text round-trips."""
        out: list[Token] = []
        chunks = [c for c in text.replace("\t", " ").replace("\n", " ").split(" ") if c]
        for n, chunk in enumerate(chunks):
            if chunk == START_MARK and n == 0:
                continue
            if chunk == OOV_MARK:
                out.append(Token(OOV_MARK, None, OOV))
                continue
            for word in split_words(chunk):
                rank = self.word_to_rank.get(word)
                if rank is None:
                    out.append(Token(word, None, None))
                    continue
                i = rank + INDEX_FROM
                out.append(Token(word, rank, OOV if num_words is not None and i >= num_words else i))
        return out

    def encode(self, text: str, num_words: int | None = None) -> list[int]:
        """Text to the ids Keras would have stored: a leading 1, words absent from the index dropped."""
        return [START] + [t.id for t in self.tokens(text, num_words) if t.id is not None]


def load_vocabulary() -> Vocabulary:
    """The configured source's word index, read once per process."""
    from core import config, registry
    from core.data.imdb import load_word_index

    return registry.shared(("vocabulary", str(config.data_dir())), lambda: Vocabulary(load_word_index()[0]))
