"""core.explore: phrase search over flat ids, filters, paging, word counts and truncation, checked against naive loops."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("IMDB_DATA_DIR", str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))

import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from core import explore  # noqa: E402
from core.data.imdb import INDEX_FROM, START, Ragged, Split, load_corpus  # noqa: E402
from core.errors import DataError  # noqa: E402
from core.data.vocab import Vocabulary, load_vocabulary  # noqa: E402

# A tiny word index: rank r has id r + 3.
WORDS = {"the": 1, "movie": 2, "was": 3, "great": 4, "not": 5, "bad": 6, "waste": 7, "of": 8, "time": 9}
ID = {w: r + INDEX_FROM for w, r in WORDS.items()}


def ids(text: str) -> list[int]:
    return [START] + [ID[w] for w in text.split()]


@pytest.fixture(scope="module")
def corpus():
    """The real data (read once per process by core.data)."""
    return load_corpus()


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return load_vocabulary()


@pytest.fixture()
def vocab() -> Vocabulary:
    return Vocabulary(dict(WORDS))


@pytest.fixture()
def small() -> Split:
    reviews = [
        "the movie was great",  # 0 pos: "great movie" does not occur (wrong order)
        "great movie great movie",  # 1 pos: twice
        "the movie was bad great",  # 2 neg: ends with "great" ...
        "movie was not great",  # 3 neg: ... and this one starts with "movie": no match across the boundary
        "waste of time the movie was a waste of time".replace(" a ", " "),  # 4 neg
        "great",  # 5 pos
    ]
    return Split(Ragged.from_lists([ids(r) for r in reviews]), np.array([1, 1, 0, 0, 0, 1], dtype=np.int8))


def naive_contains(seq: list[int], phrase: list[int]) -> int:
    k = len(phrase)
    return sum(seq[i : i + k] == phrase for i in range(len(seq) - k + 1))


def test_phrase_found_only_where_consecutive(small: Split, vocab: Vocabulary) -> None:
    query = explore.parse_query("Great movie!", vocab)
    assert query.words == ("great", "movie") and query.searchable and query.message() is None
    found = explore.select(small, phrase=query.ids)
    assert found.indices.tolist() == [1]  # review 0 has both words but not one after the other
    assert found.hits.tolist() == [2] and found.total_hits == 2


def test_phrase_never_spans_two_reviews(small: Split, vocab: Vocabulary) -> None:
    # review 2 ends with "great" and review 3 starts (after its start mark) with "movie"; in the flat array the
    # start mark sits between them, so test the boundary check directly on a ragged array without start marks.
    flat = Ragged.from_lists([[ID["bad"], ID["great"]], [ID["movie"], ID["was"]]])
    assert explore.phrase_starts(flat, [ID["great"], ID["movie"]]).tolist() == []
    assert explore.phrase_starts(flat, [ID["movie"], ID["was"]]).tolist() == [2]
    assert explore.select(small, phrase=explore.parse_query("great movie", vocab).ids).indices.tolist() == [1]


def test_label_filter_and_search_combine(small: Split, vocab: Vocabulary) -> None:
    assert explore.select(small, label=1).indices.tolist() == [0, 1, 5]
    assert explore.select(small, label=0).indices.tolist() == [2, 3, 4]
    assert explore.select(small).indices.tolist() == list(range(6))
    great = explore.parse_query("great", vocab).ids
    assert explore.select(small, label=0, phrase=great).indices.tolist() == [2, 3]
    waste = explore.select(small, label=0, phrase=explore.parse_query("waste of time", vocab).ids)
    assert waste.indices.tolist() == [4] and waste.hits.tolist() == [2]
    assert len(explore.select(small, label=1, phrase=explore.parse_query("waste of time", vocab).ids)) == 0


def test_missing_word_gives_a_message(vocab: Vocabulary) -> None:
    query = explore.parse_query("great zzzqx movie", vocab)
    assert not query.searchable and query.missing == ("zzzqx",)
    assert "not in the word index" in query.message()
    assert explore.parse_query("", vocab).empty and explore.parse_query("", vocab).message() is None
    assert "no words" in explore.parse_query("!!!", vocab).message()


def test_match_mask_and_review_words(small: Split, vocab: Vocabulary) -> None:
    phrase = explore.parse_query("great movie", vocab).ids
    review = small.x[1]
    assert explore.match_mask(review, phrase).tolist() == [False, True, True, True, True]
    words = explore.review_words(review, vocab, num_words=ID["movie"] + 1, phrase=phrase)
    assert [w.kind for w in words] == ["start", "clipped", "word", "clipped", "word"]
    assert [w.text for w in words] == [">", "great", "movie", "great", "movie"]
    assert explore.review_words([START, 2, ID["the"]], vocab)[1].kind == "unknown"
    assert explore.word_count(review) == 4


def test_search_matches_naive_scan_on_real_data(corpus, vocabulary) -> None:
    split = corpus.test
    sub = np.arange(2000)
    small = split.take(sub)
    for text in ("waste of time", "the", "not bad", "one of the best", "i loved it"):
        phrase = list(explore.parse_query(text, vocabulary).ids)
        expected = [i for i in range(len(small)) if naive_contains(small.x[i].tolist(), phrase)]
        found = explore.select(small, phrase=phrase)
        assert found.indices.tolist() == expected, text
        assert found.hits.tolist() == [naive_contains(small.x[i].tolist(), phrase) for i in expected]


def test_search_is_fast_on_all_reviews(corpus, vocabulary) -> None:
    phrase = explore.parse_query("the", vocabulary).ids  # the most frequent word: the most candidates
    started = time.perf_counter()
    found = explore.select(corpus.train, label=1, phrase=phrase)
    elapsed = time.perf_counter() - started
    assert len(found) > 12_000 and elapsed < 0.5, elapsed


def test_word_counts_equal_a_naive_count(corpus, vocabulary) -> None:
    small = corpus.train.take(np.arange(300))
    counts = explore.word_counts(small, size=90_000)
    naive = np.zeros(90_000, dtype=np.int64)
    for i in range(len(small)):
        for w in small.x[i].tolist():
            naive[w] += 1
    assert np.array_equal(counts, naive)
    positive = explore.word_counts(small, label=1, size=90_000)
    naive_pos = np.zeros(90_000, dtype=np.int64)
    for i in np.flatnonzero(small.y == 1):
        np.add.at(naive_pos, small.x[i], 1)
    assert np.array_equal(positive, naive_pos)
    top = explore.top_words(counts, vocabulary, 5)
    assert [t.count for t in top] == sorted(naive[INDEX_FROM + 1 :], reverse=True)[:5]
    assert top[0].word == "the" and top[0].id == top[0].rank + INDEX_FROM


def test_top_words_skip_top_and_ties(vocab: Vocabulary) -> None:
    counts = np.zeros(20, dtype=np.int64)
    counts[START] = 99
    counts[ID["the"]], counts[ID["movie"]], counts[ID["great"]], counts[ID["bad"]] = 10, 7, 7, 3
    assert [t.word for t in explore.top_words(counts, vocab, 3)] == ["the", "movie", "great"]
    assert [t.word for t in explore.top_words(counts, vocab, 3, skip_top=2)] == ["great", "bad"]
    assert explore.top_words(np.zeros(5, dtype=np.int64), vocab, 3) == []


def test_truncation_share_is_exact() -> None:
    lengths = np.array([10, 500, 501, 499, 1200, 500, 3])
    t = explore.truncation(lengths, 500)
    assert (t.truncated, t.padded, t.total) == (2, 3, 7)
    assert t.share == 2 / 7 and t.sentence() == "maxlen 500 truncates 28.6% of reviews"


def test_truncation_on_real_data(corpus) -> None:
    lengths = corpus.train.x.lengths
    t = explore.truncation(lengths, 500)
    assert t.truncated == sum(1 for i in range(len(corpus.train)) if len(corpus.train.x[i]) > 500)
    assert t.share == t.truncated / 25_000


def test_length_histogram_keeps_every_review(corpus) -> None:
    split = corpus.train
    hist = explore.length_histogram(split.x.lengths, split.y, bin_width=25, cap=1000)
    assert hist.cap == 1000 and hist.width == 25
    for label in (0, 1):
        assert hist.counts[label].sum() + hist.overflow[label] == int((split.y == label).sum())
    assert explore.label_counts(split.y) == {"negative": 12_500, "positive": 12_500}


def test_clipping_counts_what_num_words_hides() -> None:
    counts = np.zeros(10, dtype=np.int64)
    counts[START], counts[4], counts[5], counts[8], counts[9] = 5, 10, 6, 3, 1
    c = explore.clipping(counts, 8)
    assert (c.tokens, c.clipped_tokens, c.distinct_words, c.clipped_words) == (20, 4, 4, 2)
    assert c.share == 0.2


def test_paging() -> None:
    indices = np.arange(23)
    assert explore.page_count(23, 10) == 3 and explore.page_count(0, 10) == 1
    assert explore.page_slice(indices, 3, 10).tolist() == [20, 21, 22]
    assert explore.page_slice(indices, 9, 10).tolist() == [20, 21, 22]  # a stale page number is clamped
    assert explore.position_in(indices[::2], 8) == 4 and explore.position_in(indices, 99) is None


def test_lookup(vocab: Vocabulary) -> None:
    counts = np.arange(20)
    info = explore.lookup_word(vocab, "  Movie ", counts)
    assert (info.word, info.rank, info.id, info.count) == ("movie", 2, 5, 5)
    assert info.kept_by(6) and not info.kept_by(5)
    assert explore.lookup_rank(vocab, 4) == explore.WordInfo("great", 4, 7)
    assert explore.lookup_word(vocab, "zzzqx") is None and explore.lookup_rank(vocab, 999) is None
    assert explore.lookup_problem("zzzqx") == "“zzzqx” is not in the word index."


def test_lookup_and_search_split_words_as_the_reviews_were(vocabulary: Vocabulary) -> None:
    """Case, punctuation and accents as typed: "Brilliant!" is the word brilliant, "cliché" is one word."""
    for typed, word in (("Brilliant!", "brilliant"), ("BRILLIANT", "brilliant"), ("cliché", "cliché"),
                        ("Clichéd,", "clichéd"), ("it´s", "it´s"), ("Don't", "don't")):
        info = explore.lookup_word(vocabulary, typed)
        assert info is not None and (info.word, info.rank) == (word, vocabulary.word_to_rank[word]), typed
    assert explore.lookup_word(vocabulary, "waste of time") is None
    assert "3 words" in explore.lookup_problem("waste of time")
    query = explore.parse_query("A naïve, clichéd résumé", vocabulary)
    assert query.words == ("a", "naïve", "clichéd", "résumé") and query.searchable
    assert explore.parse_query("cliché", vocabulary).searchable


def test_names() -> None:
    corpus = load_corpus()
    assert explore.split_of(corpus, "test") is corpus.test
    assert explore.label_value("all") is None and explore.label_value("negative") == 0
    with pytest.raises(DataError):
        explore.split_of(corpus, "validation")
    assert load_vocabulary().word(1) == "the"


def test_length_bins_follow_the_texts_not_a_fixed_axis(corpus) -> None:
    assert explore.length_bins(corpus.train.x.lengths, 500) == (950, 25), "IMDB: 99% of reviews, bins of 25 ids"
    short = np.arange(5, 45)  # a tweet-like data set: 5 to 44 ids
    assert explore.length_bins(short, 500) == (44, 2), "maxlen far past the texts keeps the axis to them"
    assert explore.length_bins(short, 50) == (60, 2), "a maxlen near them is on the axis"
