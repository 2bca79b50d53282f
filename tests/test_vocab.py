"""Word index encode/decode, on real reviews."""
from __future__ import annotations

import tarfile

import numpy as np
import pytest

from core import features
from core.data.imdb import OOV, START
from core.data.vocab import OOV_MARK, START_MARK, Vocabulary, split_words

NUM_WORDS = 10_000


@pytest.fixture(scope="module")
def reviews(corpus) -> list[list[int]]:
    # a spread of training and test reviews, short and long
    picks = np.linspace(0, 24_999, 150).astype(int)
    return [corpus.train.x[i].tolist() for i in picks] + [corpus.test.x[i].tolist() for i in picks]


def test_vocabulary_size_and_known_ranks(vocabulary):
    assert vocabulary.size == 88_584
    assert vocabulary.word(1) == "the"
    assert vocabulary.encode("the") == [START, 1 + 3]
    assert vocabulary.id_to_word(4) == "the"


def test_decode_marks_start_unknown_and_skips_padding(vocabulary):
    assert vocabulary.decode([0, 0, START, 4, OOV]) == f"{START_MARK} the {OOV_MARK}"
    assert vocabulary.id_to_word(0) == ""
    # ids at or beyond num_words show as unknown, as load_data(num_words=...) would have stored them
    assert vocabulary.id_to_word(NUM_WORDS + 5, num_words=NUM_WORDS) == OOV_MARK


def test_decode_encode_round_trip_full_vocabulary(vocabulary, reviews):
    for ids in reviews:
        text = vocabulary.decode(ids)
        assert text.startswith(START_MARK + " ")
        assert OOV_MARK not in text.split()  # the full vocabulary has no unknown words
        assert vocabulary.encode(text) == ids


def test_decode_encode_round_trip_num_words(vocabulary, reviews):
    for ids in reviews:
        clipped = features.clip_vocabulary(np.asarray(ids), NUM_WORDS).tolist()
        text = vocabulary.decode(ids, num_words=NUM_WORDS)
        assert text == vocabulary.decode(clipped)
        assert vocabulary.encode(text, num_words=NUM_WORDS) == clipped
    assert any(OOV in features.clip_vocabulary(np.asarray(ids), NUM_WORDS) for ids in reviews)


def test_encoding_raw_text_like_keras(vocabulary):
    ids = vocabulary.encode("This movie was GREAT! Don't miss it.")
    words = [vocabulary.id_to_word(i) for i in ids]
    assert words == [START_MARK, "this", "movie", "was", "great", "don't", "miss", "it"]


def test_words_outside_the_index_are_dropped_and_marked(vocabulary):
    tokens = vocabulary.tokens("great qwxzvbnm film")
    assert [t.text for t in tokens] == ["great", "qwxzvbnm", "film"]
    unknown = tokens[1]
    assert unknown.rank is None and unknown.id is None
    assert vocabulary.encode("great qwxzvbnm film") == [START, tokens[0].id, tokens[2].id]


def test_rare_words_become_unknown_with_num_words(vocabulary):
    rare = next(w for w, r in vocabulary.word_to_rank.items() if 20_000 < r < 30_000 and w.isalpha())
    (token,) = vocabulary.tokens(rare, num_words=NUM_WORDS)
    assert token.rank is not None and token.id == OOV
    (token,) = vocabulary.tokens(rare)
    assert token.id == token.rank + 3


def test_vocabulary_from_a_small_index():
    v = Vocabulary({"good": 1, "bad": 2})
    assert v.encode("Good, bad; ugly") == [START, 4, 5]
    assert v.decode([1, 4, 5, 2]) == "> good bad ?"


# --- the Keras rule ---------------------------------------------------------------------------------------------

ACCENTED = ("A naïve, clichéd résumé", "était génial", "it´s", "don't", "CLICHÉ!", "Brilliant!")


def keras_words(text: str) -> list[str]:
    """The reference: Keras's own `text_to_word_sequence` (Keras 3 keeps it under tf.keras's preprocessing.text)."""
    import tensorflow as tf

    return tf.keras.preprocessing.text.text_to_word_sequence(text)


@pytest.fixture(scope="module")
def stanford_texts(data_dir) -> list[str]:
    """Raw review text from the Stanford release: its first 300 training reviews and the non-ASCII ones among 3,000."""
    texts: list[str] = []
    with tarfile.open(data_dir / "aclImdb_v1_labeled.tar.gz") as archive:
        for member in archive:
            if member.isfile() and "/train/" in member.name and member.name.endswith(".txt"):
                text = archive.extractfile(member).read().decode("utf-8")
                if len(texts) < 300 or not text.isascii():
                    texts.append(text)
                if len(texts) >= 400:
                    break
    assert sum(not t.isascii() for t in texts) >= 20, "the sample holds accented reviews"
    return texts


def test_split_words_is_keras_text_to_word_sequence(stanford_texts):
    for text in list(ACCENTED) + stanford_texts + ["tab\tand\nnewline", "a\x85b", "  spaced   out  "]:
        assert split_words(text) == keras_words(text), text[:80]


def test_accented_words_stay_whole_and_are_found(vocabulary):
    assert split_words("A naïve, clichéd résumé") == ["a", "naïve", "clichéd", "résumé"]
    assert split_words("était génial") == ["était", "génial"]
    assert split_words("it´s don't") == ["it´s", "don't"]
    tokens = vocabulary.tokens("A naïve, clichéd résumé")
    assert [t.text for t in tokens] == ["a", "naïve", "clichéd", "résumé"]
    assert all(t.rank == vocabulary.word_to_rank[t.text] for t in tokens), "each accented word is in the index"
    assert [t.text for t in vocabulary.tokens("était génial")] == ["était", "génial"]
    assert vocabulary.tokens("CLICHÉ!")[0].rank == vocabulary.word_to_rank["cliché"]


def test_typed_review_encodes_as_keras_would(vocabulary, stanford_texts):
    """encode = start mark + the rank + 3 of each word of Keras's split that the index has (the others dropped).

    A lone `?` (or a leading `>`) in raw text is the one difference: it is read as the unknown (start) mark, so
    decoded reviews round-trip."""
    compared = 0
    for text in stanford_texts:
        chunks = text.split()
        if "?" in chunks or chunks[:1] == [">"]:
            continue
        expected = [START] + [vocabulary.word_to_rank[w] + 3 for w in keras_words(text) if w in vocabulary.word_to_rank]
        assert vocabulary.encode(text) == expected, text[:80]
        compared += 1
    assert compared >= 300
