"""Imported text becomes ids the way Keras encoded IMDB: the Keras word rule, ranks from the training split only."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

from core.data import text_import, text_source, word_index
from core.data.imdb import INDEX_FROM, OOV, START
from core.data.vocab import split_words

FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def written_rule(text: str) -> list[str]:
    """The Keras Tokenizer default, as its documentation states it."""
    text = text.lower()
    for c in FILTERS:
        text = text.replace(c, " ")
    return [w for w in text.split(" ") if w]


def keras_text():
    """Keras's own text module: public `keras.preprocessing.text` where it exists, else the `tf.keras` namespace
    that Keras 3 still ships (`tf.keras.preprocessing.text`), else skip."""
    for name in ("keras.preprocessing.text", "keras._tf_keras.keras.preprocessing.text"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    pytest.skip("this Keras has no preprocessing.text module; the written rule is checked instead")


@pytest.fixture(scope="module")
def amazon(data_dir) -> text_source.LabelledText:
    return text_import.read(data_dir / "text" / "amazon_cells_labelled.txt")


@pytest.fixture(scope="module")
def tweets(data_dir) -> text_source.LabelledText:
    return text_import.read(data_dir / "text" / "Tweets.csv")


TRICKY = [
    "This movie was GREAT! Don't miss it.",
    "one<br />two<br/>three",
    "cliché it´s \x85odd\xa0spaces\rcarriage tab\tnew\nline",
    "I ❤️ flying @VirginAmerica. ☺️👍 &amp; #hash_tag",
    "a < b and c > d, <3 >:(",
    "   ",
    "",
    "İstanbul ẞtraße ǅ",
]


@pytest.mark.parametrize("text", TRICKY)
def test_split_words_is_the_written_keras_rule(text):
    assert split_words(text) == written_rule(text)


def test_split_words_matches_keras_on_real_text(amazon, tweets):
    legacy = keras_text()
    for text in TRICKY + amazon.texts + tweets.texts:
        assert split_words(text) == legacy.text_to_word_sequence(text)
        assert split_words(text) == written_rule(text)


def test_html_tags_are_removed_before_the_keras_rule():
    assert word_index.text_words("Great.<br /><br />Really <i>great</i>") == ["great", "really", "great"]
    # not tags: comparisons, hearts and faces stay text (and lose their punctuation by the Keras rule)
    assert word_index.text_words("a < b, c > d <3") == ["a", "b", "c", "d", "3"]


def test_ids_are_training_frequency_ranks_plus_three():
    encoded = word_index.encode(["b a b", "c b a"], ["a d", "b"])
    # b: 3 times, a: 2, c: 1
    assert encoded.word_to_rank == {"b": 1, "a": 2, "c": 3}
    assert encoded.train.to_lists() == [[START, 1 + INDEX_FROM, 2 + INDEX_FROM, 1 + INDEX_FROM],
                                        [START, 3 + INDEX_FROM, 1 + INDEX_FROM, 2 + INDEX_FROM]]
    # d is seen only in the test split: unknown
    assert encoded.test.to_lists() == [[START, 2 + INDEX_FROM, OOV], [START, 1 + INDEX_FROM]]
    assert encoded.test_unknown == 1


def test_ties_keep_first_use_order_whatever_the_words():
    encoded = word_index.encode(["zeta alpha", "mid"], [])
    assert list(encoded.word_to_rank) == ["zeta", "alpha", "mid"]
    assert encoded.word_to_rank == {"zeta": 1, "alpha": 2, "mid": 3}


def test_word_index_equals_keras_tokenizer_on_real_text(amazon):
    legacy = keras_text()
    train, test = amazon.texts[:800], amazon.texts[800:]
    encoded = word_index.encode(train, test)
    tokenizer = legacy.Tokenizer()
    tokenizer.fit_on_texts([word_index.strip_html(t) for t in train])
    assert encoded.word_to_rank == tokenizer.word_index
    # every training review: start id, then rank + 3 for each word, as keras.datasets.imdb stores them
    for text, ids in zip(train, encoded.train.to_lists()):
        assert ids == [START] + [r + INDEX_FROM for r in tokenizer.texts_to_sequences([text])[0]]
    for text, ids in zip(test, encoded.test.to_lists()):
        words = word_index.text_words(text)
        assert ids == [START] + [encoded.word_to_rank[w] + INDEX_FROM if w in encoded.word_to_rank else OOV
                                 for w in words]


def test_empty_texts_encode_to_the_start_id_alone():
    encoded = word_index.encode(["word", "!!!"], ["<br />"])
    assert encoded.train.to_lists() == [[START, 4], [START]]
    assert encoded.test.to_lists() == [[START]]
    assert encoded.train.ids.dtype == np.int32 and encoded.train.offsets.dtype == np.int64
