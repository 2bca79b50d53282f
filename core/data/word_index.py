"""Imported text to word ids the way Keras encoded IMDB, with the vocabulary learned from the training split only.

HTML tags such as `<br />` are removed, then `core.data.vocab.split_words` splits the text. A word's id is its frequency
rank in the training split + 3 (1 = start of review, 2 = unknown); ties keep the order in which the training split
first uses the words, as Keras's `Tokenizer` orders them. Words seen only in the test split are unknown (2), as they
would be for a model that never saw them.
"""
from __future__ import annotations

import re
from array import array
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from core.data.imdb import INDEX_FROM, OOV, START, Ragged
from core.data.vocab import split_words

# A tag starts with a letter (or `/` and a letter), so "a < b", "<3" and ">:(" stay text.
HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def strip_html(text: str) -> str:
    """Every HTML tag becomes a space, so `one<br />two` is two words."""
    return HTML_TAG.sub(" ", text)


def text_words(text: str) -> list[str]:
    """The words of one imported text: HTML tags removed, then the Keras rule."""
    return split_words(strip_html(text))


@dataclass(frozen=True)
class Encoded:
    """Both splits as ids, and the word index (word -> frequency rank, 1 = most frequent) they were encoded with."""

    word_to_rank: dict[str, int]
    train: Ragged
    test: Ragged
    test_unknown: int  # words of the test split that the training split never uses


def _provisional(texts: Iterable[str], index: defaultdict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Flat ids in order of first use (a new word gets the next id), and each text's word count."""
    flat = array("q")
    lengths = array("q")
    for text in texts:
        before = len(flat)
        flat.extend(map(index.__getitem__, text_words(text)))  # per word in C: the index's factory numbers new words
        lengths.append(len(flat) - before)
    return np.frombuffer(flat, dtype=np.int64), np.frombuffer(lengths, dtype=np.int64)


def _with_start(ids: np.ndarray, lengths: np.ndarray) -> Ragged:
    """Each review's ids behind a start id 1, as Keras stores IMDB."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=offsets[1:])
    out = np.empty(offsets[-1], dtype=np.int32)
    out[offsets[:-1]] = START
    body = np.ones(offsets[-1], dtype=bool)
    body[offsets[:-1]] = False
    out[body] = ids
    return Ragged(out, offsets)


def encode(train_texts: Iterable[str], test_texts: Iterable[str]) -> Encoded:
    """Learn the word index on `train_texts` and encode both splits with it."""
    index: defaultdict[str, int] = defaultdict()
    index.default_factory = index.__len__
    train_ids, train_lengths = _provisional(train_texts, index)
    known = len(index)
    test_ids, test_lengths = _provisional(test_texts, index)
    counts = np.bincount(train_ids, minlength=known)
    by_rank = np.argsort(-counts, kind="stable")  # stable: equal counts keep first-use order
    to_id = np.full(len(index), OOV, dtype=np.int32)
    to_id[by_rank] = np.arange(1, known + 1, dtype=np.int32) + INDEX_FROM
    words = list(index)
    word_to_rank = {words[p]: rank for rank, p in enumerate(by_rank.tolist(), start=1)}
    return Encoded(
        word_to_rank,
        _with_start(to_id[train_ids], train_lengths),
        _with_start(to_id[test_ids], test_lengths),
        int(np.count_nonzero(test_ids >= known)),
    )
