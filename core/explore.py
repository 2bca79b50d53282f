"""The Explore page's engine: searching, filtering, paging and counting the reviews, without Streamlit.

Everything works on the flat id array of a `Ragged` (ids, not strings) with vectorised numpy, so a phrase search or a
word count over all of a split's reviews (IMDB's 25,000 or any imported data set's) takes milliseconds and the page
can redo it on every rerun.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from core.data.imdb import INDEX_FROM, LABELS, OOV, START, Corpus, Ragged, Split
from core.errors import DataError, quoted
from core.data.vocab import OOV_MARK, START_MARK, Vocabulary, split_words

SPLITS: tuple[str, ...] = ("train", "test")
LABEL_FILTERS: tuple[str, ...] = ("all", "positive", "negative")
LABEL_NAMES: dict[int, str] = dict(enumerate(LABELS))
WordKind = Literal["start", "unknown", "clipped", "word"]


def split_of(corpus: Corpus, name: str) -> Split:
    """The split a page control names, so pages never index the corpus with strings themselves."""
    if name not in SPLITS:
        raise DataError(f"Unknown split {name!r}: choose one of {', '.join(SPLITS)}.")
    return corpus.train if name == "train" else corpus.test


def label_value(name: str) -> int | None:
    """The label a filter keeps (1 positive, 0 negative), or None for all reviews."""
    if name not in LABEL_FILTERS:
        raise DataError(f"Unknown label filter {name!r}: choose one of {', '.join(LABEL_FILTERS)}.")
    return None if name == "all" else (1 if name == "positive" else 0)


def vocabulary_size(text: str, sizes: Sequence[int]) -> int:
    """The vocabulary size a link names, one of `sizes` ("5000", "5,000"), or a DataError listing them."""
    cleaned = str(text).replace(",", "").replace("_", "").strip()
    if cleaned.isdecimal() and int(cleaned) in sizes:
        return int(cleaned)
    raise DataError(f"num_words={quoted(text)} is not one of the vocabulary sizes "
                    f"{', '.join(f'{n:,}' for n in sizes)}; showing {10_000:,}.")


# --- search ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """Typed search text turned into ids; words absent from the word index cannot occur in any review."""

    text: str
    words: tuple[str, ...]
    ids: tuple[int, ...]
    missing: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.words

    @property
    def searchable(self) -> bool:
        """A query worth running: some words, all of them in the word index."""
        return bool(self.words) and not self.missing

    def message(self) -> str | None:
        """Why this query cannot match anything, in words a class understands; None when it can."""
        if self.missing:
            listed = ", ".join(f"“{w}”" for w in self.missing)
            verb = "is" if len(self.missing) == 1 else "are"
            return (f"{listed} {verb} not in the word index, so no review contains "
                    f"{'it' if len(self.missing) == 1 else 'them'}: the data stores only indexed words.")
        if self.text.strip() and not self.words:
            return (f"“{self.text.strip()}” has no words to search for: punctuation separates words, "
                    "as it did when the reviews were encoded.")
        return None


def parse_query(text: str, vocab: Vocabulary) -> Query:
    """Tokenise search text exactly as the reviews were tokenised, so a phrase matches the stored ids."""
    words: list[str] = []
    ids: list[int] = []
    missing: list[str] = []
    for token in vocab.tokens(text or ""):
        words.append(token.text)
        if token.id is None:
            if token.text not in missing:
                missing.append(token.text)
        else:
            ids.append(token.id)
    return Query(text or "", tuple(words), tuple(ids), tuple(missing))


def phrase_starts(x: Ragged, phrase: Sequence[int]) -> np.ndarray:
    """Flat positions where `phrase` starts as consecutive ids inside a single review (int64, ascending).

    Candidates are the positions of the first id; each further id narrows them with one vectorised comparison,
    and a last check drops matches that would run past the end of their review into the next one.
    """
    flat = x.ids
    k = len(phrase)
    if k == 0 or k > len(flat):
        return np.zeros(0, dtype=np.int64)
    want = np.asarray(phrase, dtype=np.int64)
    pos = np.flatnonzero(flat[: len(flat) - k + 1] == want[0]).astype(np.int64, copy=False)
    for j in range(1, k):
        pos = pos[flat[pos + j] == want[j]]
    if len(pos):
        rows = np.searchsorted(x.offsets, pos, side="right") - 1
        pos = pos[pos + k <= x.offsets[rows + 1]]
    return pos


@dataclass(frozen=True)
class Selection:
    """The reviews a set of filters keeps, in split order, and how often the searched phrase occurs in each."""

    indices: np.ndarray  # int64 review indices into the split
    hits: np.ndarray | None  # occurrences per kept review, None without a search

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def total_hits(self) -> int:
        return 0 if self.hits is None else int(self.hits.sum())


def select(split: Split, label: int | None = None, phrase: Sequence[int] | None = None) -> Selection:
    """Reviews with the given label (None: any) that contain `phrase` (None or empty: no search)."""
    keep = np.ones(len(split), dtype=bool) if label is None else split.y == label
    if not phrase:
        return Selection(np.flatnonzero(keep).astype(np.int64), None)
    rows = np.searchsorted(split.x.offsets, phrase_starts(split.x, phrase), side="right") - 1
    reviews, counts = np.unique(rows, return_counts=True)
    mask = keep[reviews]
    return Selection(reviews[mask].astype(np.int64), counts[mask].astype(np.int64))


def match_mask(ids: np.ndarray, phrase: Sequence[int]) -> np.ndarray:
    """For one review, which positions belong to an occurrence of `phrase`, to highlight them."""
    ids = np.asarray(ids)
    mask = np.zeros(len(ids), dtype=bool)
    if not phrase:
        return mask
    starts = phrase_starts(Ragged(ids, np.array([0, len(ids)], dtype=np.int64)), phrase)
    for j in range(len(phrase)):
        mask[starts + j] = True
    return mask


# --- paging --------------------------------------------------------------------------------------------------------


def page_count(n: int, per_page: int) -> int:
    """Pages needed for `n` results; at least 1 so a paging control can always be drawn."""
    return max(1, math.ceil(n / per_page))


def page_slice(indices: np.ndarray, page: int, per_page: int) -> np.ndarray:
    """The results on 1-based `page`, clamped into range so a stale page number never shows an empty page."""
    page = min(max(1, page), page_count(len(indices), per_page))
    return indices[(page - 1) * per_page : page * per_page]


def review_index(value: float, total: int, split_label: str) -> int:
    """A "Jump to review #" value as a review index, or a DataError saying which numbers exist."""
    if value != int(value) or not 0 <= value < total:
        raise DataError(f"There is no review #{value:,g} among the {total:,} {split_label} reviews: they are "
                        f"numbered 0 to {total - 1:,}.")
    return int(value)


def position_in(indices: np.ndarray, review: int) -> int | None:
    """Where review `review` sits in a selection (0-based), or None when the filters leave it out."""
    found = np.flatnonzero(indices == review)
    return int(found[0]) if len(found) else None


# --- one review -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """One id of a review as the page shows it: the word, and whether the model would see it as a mark."""

    id: int
    text: str  # the word from the index; `>` for the start mark, `?` for an unknown id
    kind: WordKind  # start, unknown in the data, clipped by num_words, or an ordinary word
    match: bool = False  # part of the searched phrase


def review_words(ids: np.ndarray, vocab: Vocabulary, num_words: int | None = None,
                 phrase: Sequence[int] | None = None) -> list[Word]:
    """Decode one review id by id, marking what `num_words` turns into `?` so the class sees what it loses."""
    ids = np.asarray(ids)
    matches = match_mask(ids, phrase or ())
    out: list[Word] = []
    for i, hit in zip(ids.tolist(), matches.tolist()):
        if i == START:
            out.append(Word(i, START_MARK, "start", hit))
        elif i == OOV or vocab.word(i - INDEX_FROM) is None:
            out.append(Word(i, OOV_MARK, "unknown", hit))
        elif num_words is not None and i >= num_words:
            out.append(Word(i, vocab.word(i - INDEX_FROM) or OOV_MARK, "clipped", hit))
        else:
            out.append(Word(i, vocab.word(i - INDEX_FROM) or OOV_MARK, "word", hit))
    return out


def word_count(ids: np.ndarray) -> int:
    """A review's length in words: its ids without the start mark."""
    ids = np.asarray(ids)
    return int(len(ids) - np.count_nonzero(ids == START))


# --- statistics ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Truncation:
    """What `pad_sequences(maxlen=...)` does to a split: how many reviews lose ids and how many get padding."""

    maxlen: int
    total: int
    truncated: int  # more ids than maxlen: the oldest ids are cut
    padded: int  # fewer ids than maxlen: zeros in front

    @property
    def share(self) -> float:
        return self.truncated / self.total if self.total else 0.0

    @property
    def padded_share(self) -> float:
        return self.padded / self.total if self.total else 0.0

    def sentence(self) -> str:
        return f"maxlen {self.maxlen:,} truncates {self.share:.1%} of reviews"


def truncation(lengths: np.ndarray, maxlen: int) -> Truncation:
    """Exact counts over id lengths (start mark included), the lengths `pad_sequences` cuts to `maxlen`."""
    lengths = np.asarray(lengths)
    return Truncation(int(maxlen), int(len(lengths)), int(np.count_nonzero(lengths > maxlen)),
                      int(np.count_nonzero(lengths < maxlen)))


@dataclass(frozen=True)
class LengthHistogram:
    """Review lengths binned per label; reviews longer than `cap` share one overflow bin so the chart stays readable."""

    edges: np.ndarray  # bin edges 0, width, ..., cap
    counts: dict[int, np.ndarray]  # label -> reviews per bin
    overflow: dict[int, int]  # label -> reviews longer than cap

    @property
    def width(self) -> int:
        return int(self.edges[1] - self.edges[0])

    @property
    def cap(self) -> int:
        return int(self.edges[-1])


_BIN_WIDTHS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000)


def length_bins(lengths: np.ndarray, maxlen: int, bins: int = 40) -> tuple[int, int]:
    """The histogram's last edge and bin width for these lengths: up to the 99th percentile (and maxlen when it is
    not far past it), in about `bins` bins of a round width, so short texts are not squashed into one bar."""
    longest = float(np.percentile(lengths, 99)) if len(lengths) else 1.0
    span = max(longest, maxlen * 1.2) if maxlen <= 2 * longest else longest
    width = next((w for w in _BIN_WIDTHS if w * bins >= span), _BIN_WIDTHS[-1])
    return max(width, int(math.ceil(span / width) * width)), width


def length_histogram(lengths: np.ndarray, labels: np.ndarray, bin_width: int = 25, cap: int = 1000,
                     num_classes: int = 2) -> LengthHistogram:
    """Bin id lengths per label (0 to num_classes - 1) on shared edges, so the labels' bars line up."""
    cap = max(bin_width, int(math.ceil(cap / bin_width) * bin_width))
    edges = np.arange(0, cap + bin_width, bin_width)
    lengths, labels = np.asarray(lengths), np.asarray(labels)
    counts: dict[int, np.ndarray] = {}
    overflow: dict[int, int] = {}
    for label in range(num_classes):
        mine = lengths[labels == label]
        counts[label] = np.histogram(mine[mine <= cap], bins=edges)[0]
        overflow[label] = int(np.count_nonzero(mine > cap))
    return LengthHistogram(edges, counts, overflow)


def label_counts(labels: np.ndarray) -> dict[str, int]:
    """Reviews per label name, to show the classes are balanced."""
    labels = np.asarray(labels)
    return {LABEL_NAMES[k]: int(np.count_nonzero(labels == k)) for k in (0, 1)}


def word_counts(split: Split, label: int | None = None, size: int | None = None) -> np.ndarray:
    """How often each id occurs in the split's reviews (with `label`, or all): one np.bincount over the flat ids."""
    ids = split.x.ids
    if label is not None:
        ids = ids[np.repeat(split.y == label, split.x.lengths)]
    minlength = int(size) if size is not None else (int(split.x.ids.max()) + 1 if len(split.x.ids) else 0)
    return np.bincount(ids, minlength=minlength)


@dataclass(frozen=True)
class WordCount:
    """One bar of the most-frequent-words chart."""

    word: str
    rank: int
    id: int
    count: int


def top_words(counts: np.ndarray, vocab: Vocabulary, n: int = 20, skip_top: int = 0) -> list[WordCount]:
    """The `n` most frequent words by count, leaving out the marks and the `skip_top` highest-ranked words."""
    counts = np.asarray(counts).copy()
    counts[: min(len(counts), INDEX_FROM + 1 + max(0, skip_top))] = 0  # padding, start, unknown, unused id 3, ranks <= skip_top
    n = max(0, min(n, int(np.count_nonzero(counts))))
    if n == 0:
        return []
    best = np.argpartition(-counts, n - 1)[:n]
    best = best[np.lexsort((best, -counts[best]))]  # by count, ties by rank
    return [WordCount(vocab.word(int(i) - INDEX_FROM) or OOV_MARK, int(i) - INDEX_FROM, int(i), int(counts[i]))
            for i in best]


@dataclass(frozen=True)
class Clipping:
    """What `num_words` hides in a split: how many word occurrences, and how many distinct words, become `?`."""

    num_words: int
    tokens: int  # word occurrences (start marks excluded)
    clipped_tokens: int
    distinct_words: int  # distinct words that occur at all
    clipped_words: int

    @property
    def share(self) -> float:
        return self.clipped_tokens / self.tokens if self.tokens else 0.0


def clipping(counts: np.ndarray, num_words: int) -> Clipping:
    """From word counts, the effect of keeping only ids below `num_words` (what Keras `num_words` does)."""
    counts = np.asarray(counts)
    words = counts[INDEX_FROM:]
    clipped = counts[max(num_words, INDEX_FROM):]
    return Clipping(int(num_words), int(words.sum() + counts[OOV]) if len(counts) > OOV else int(words.sum()),
                    int(clipped.sum()), int(np.count_nonzero(words)), int(np.count_nonzero(clipped)))


# --- word index lookup ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WordInfo:
    """A word-index entry, as the lookup shows it: rank in the index, the id the data stores, how often it occurs."""

    word: str
    rank: int
    id: int
    count: int | None = None

    def kept_by(self, num_words: int) -> bool:
        """Whether `num_words` keeps this word (its id is below it) rather than turning it into `?`."""
        return self.id < num_words


def lookup_word(vocab: Vocabulary, text: str, counts: np.ndarray | None = None) -> WordInfo | None:
    """Word to rank and id, the typed text split as the reviews were (so "Brilliant!" is "brilliant"); None unless
    that gives exactly one word of the word index."""
    words = split_words(text or "")
    rank = vocab.word_to_rank.get(words[0]) if len(words) == 1 else None
    if rank is None:
        return None
    word = words[0]
    i = rank + INDEX_FROM
    return WordInfo(word, rank, i, _count(counts, i))


def lookup_problem(text: str) -> str:
    """Why `lookup_word` found nothing for `text`, in words a class understands."""
    words = split_words(text or "")
    if not words:
        return f"“{(text or '').strip()}” has no word to look up: punctuation separates words."
    if len(words) > 1:
        return f"“{(text or '').strip()}” is {len(words)} words ({', '.join(words)}): look up one word at a time."
    return f"“{words[0]}” is not in the word index."


def lookup_rank(vocab: Vocabulary, rank: int, counts: np.ndarray | None = None) -> WordInfo | None:
    """Rank to word; None outside 1..vocabulary size."""
    word = vocab.word(int(rank))
    if word is None:
        return None
    i = int(rank) + INDEX_FROM
    return WordInfo(word, int(rank), i, _count(counts, i))


def _count(counts: np.ndarray | None, i: int) -> int | None:
    if counts is None:
        return None
    return int(counts[i]) if i < len(counts) else 0
