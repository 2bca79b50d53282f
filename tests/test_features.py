"""Each featuriser's own description of what the model received for one review."""
from __future__ import annotations

from core import features
from core.data.imdb import OOV


def test_multi_hot_describes_its_positions(corpus, vocabulary):
    ids = corpus.train.x[0].tolist()
    seen = features.MultiHot(1_000).describe(ids)
    assert isinstance(seen, features.MultiHotInput)
    assert seen.active == sorted(set(seen.input_ids)) and max(seen.active) < 1_000 and OOV in seen.active
    (remark,) = seen.remarks(vocabulary.id_to_word)
    assert remark.text.startswith(f"Multi-hot input: {len(seen.active)} of the 1,000 vocabulary positions are on")
    assert not remark.warning


def test_sequences_describe_padding_and_truncation(vocabulary):
    short, long = [1, 14, 22], [1] + [14] * 149
    padded = features.Sequences(10_000, 100).describe(short)
    assert len(padded.input_ids) == 100 and padded.input_ids[-3:] == short
    assert (padded.padding, padded.truncated) == (97, 0)
    assert [r.text for r in padded.remarks(vocabulary.id_to_word)] == ["3 ids, padded in front with 97 zeros to maxlen 100."]
    cut = features.Sequences(10_000, 100).describe(long)
    assert (cut.padding, cut.truncated) == (0, 50)
    (remark,) = cut.remarks(vocabulary.id_to_word)
    assert remark.warning and "cuts the first 50 off" in remark.text
