"""Hyperparameter presets, ranges and the messages for values out of range."""
from __future__ import annotations

from dataclasses import replace

import pytest

from core import hparams
from core.errors import ConfigError
from core.hparams import PARAMS, PRESETS


def test_presets_reproduce_the_reference_notebooks():
    dlwp = PRESETS["dlwp"]
    assert (dlwp.architecture, dlwp.num_words, dlwp.hidden_layers, dlwp.units) == ("multihot_mlp", 10_000, 2, 16)
    assert (dlwp.optimizer, dlwp.batch_size, dlwp.epochs, dlwp.val_size) == ("rmsprop", 512, 4, 10_000)
    ms = PRESETS["mslearn"]
    assert (ms.architecture, ms.num_words, ms.maxlen, ms.embedding_dim) == ("embedding_flatten", 10_000, 500, 32)
    assert (ms.optimizer, ms.batch_size, ms.epochs) == ("adam", 128, 5)
    lstm = PRESETS["lstm"]
    assert (lstm.architecture, lstm.num_words, lstm.embedding_dim, lstm.units, lstm.patience) == ("lstm", 5_000, 120, 120, 5)
    assert PRESETS["fast"].architecture == "ngram_nb"
    for name, hp in PRESETS.items():
        assert hp.preset == name
        assert hparams.validate(hp) is hp
        assert name in hparams.DESCRIPTIONS
        assert len(hparams.DESCRIPTIONS[name]) <= hparams.DESCRIPTION_CHARS, "cut off in the preset picker"


def test_make_applies_and_converts_overrides():
    hp = hparams.make("dlwp", epochs="3", learning_rate="0.01", limit=2000, val_size=500, patience=None)
    assert (hp.epochs, hp.learning_rate, hp.limit, hp.val_size, hp.patience) == (3, 0.01, 2000, 500, None)
    assert hp.train_reviews() == 2000
    assert hparams.make("dlwp").train_reviews() == 15_000
    assert hparams.from_dict(hp.to_dict()) == hp


def _range(name: str) -> str:
    return PARAMS[name].range_text()


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"epochs": 0}, ["epochs=0", _range("epochs")]),
        ({"epochs": 101}, ["epochs=101", _range("epochs")]),
        ({"learning_rate": 5}, ["learning_rate=5", _range("learning_rate")]),
        ({"optimizer": "foo"}, ["optimizer='foo'", "rmsprop, adam, adamw, sgd"]),
        ({"batch_size": 0}, ["batch_size=0", _range("batch_size")]),
        ({"dropout": 0.95}, ["dropout=0.95", _range("dropout")]),
        ({"num_words": 50}, ["num_words=50", _range("num_words")]),
        ({"val_size": 24_950}, ["val_size=24950", _range("val_size")]),
        ({"epochs": 2.5}, ["epochs=2.5", "is not a whole number", _range("epochs")]),
        ({"epochs": "2.5"}, ["epochs='2.5' is not a whole number"]),
        ({"dropout": "lots"}, ["dropout='lots' is not a number", _range("dropout")]),
        ({"epochs": "12345678901234567890"}, ["epochs=12345678901234567890 is out of range", _range("epochs")]),
        ({"epochs": 10**20}, ["is out of range"]),
        ({"epochs": "1e3"}, ["epochs=1e3 is out of range"]),
        ({"units": "x" * 5000}, ["units='" + "x" * 40 + "…' is not a whole number"]),
        ({"optimizer": "y" * 5000}, ["optimizer='" + "y" * 40 + "…' is not allowed"]),
        ({"epochs": "many"}, ["epochs='many'", _range("epochs")]),
        ({"epochs": None}, ["epochs", "required"]),
        ({"limit": 20_000}, ["limit=20000", "15000", "val_size=10000"]),
        ({"limit": 24_000, "val_size": 1_500}, ["limit=24000", "23500", "val_size=1500"]),
        ({"hidden_layers": 0, "dropout": 0.5}, ["dropout", "hidden layer"]),
    ],
)
def test_out_of_range_values_name_the_parameter_and_its_range(overrides, words):
    with pytest.raises(ConfigError) as info:
        hparams.make("dlwp", **overrides)
    for word in words:
        assert word in str(info.value)


def test_range_texts_read_naturally():
    assert _range("epochs").startswith("1 to 100")
    assert _range("learning_rate") == "1e-05 to 1"
    assert _range("optimizer") == "one of rmsprop, adam, adamw, sgd"
    assert "empty" in _range("limit")


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_every_parameter_refuses_a_value_above_its_range(name):
    param = PARAMS[name]
    bad = "no-such-choice" if param.choices else param.high + 1
    with pytest.raises(ConfigError) as info:
        param.check(bad)
    assert name in str(info.value)
    assert param.range_text() in str(info.value)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_every_parameter_accepts_its_bounds(name):
    param = PARAMS[name]
    values = param.choices if param.choices else (param.low, param.high)
    for value in values:
        assert param.check(value) == (param.kind(value) if not param.choices else value)


def test_long_values_are_never_echoed_whole():
    for overrides in ({"units": "9" * 5000}, {"units": "x" * 5000}, {"optimizer": "z" * 5000}):
        with pytest.raises(ConfigError) as info:
            hparams.make("dlwp", **overrides)
        assert len(str(info.value)) < 200, str(info.value)[:300]


def test_whole_numbers_are_read_from_text():
    assert PARAMS["epochs"].check(" 7 ") == 7 and PARAMS["epochs"].check("7.0") == 7
    assert PARAMS["max_features"].check("1e6") == 1_000_000
    assert PARAMS["dropout"].check("0.33") == 0.33


def test_preset_names_are_read_in_any_case():
    assert hparams.preset_name(" DLWP ") == "dlwp" and hparams.make("Fast").preset == "fast"
    with pytest.raises(ConfigError, match="Unknown preset '" + "q" * 40 + "…'"):
        hparams.preset_name("q" * 5000)


def test_unknown_preset_and_unknown_setting_are_refused():
    with pytest.raises(ConfigError, match="Unknown preset 'nope'.*dlwp"):
        hparams.make("nope")
    with pytest.raises(ConfigError, match="Unknown setting colour"):
        hparams.make("dlwp", colour="red")


def test_optional_settings_accept_none_and_blank():
    assert hparams.make("lstm", patience=None).patience is None  # early stopping off
    assert hparams.make("dlwp", limit="").limit is None  # all reviews validation leaves
    assert hparams.make("dlwp", limit=None).train_reviews() == 15_000


def test_presets_fitted_to_a_smaller_data_set_keep_their_steps_per_epoch():
    """Batches shrink with the training split (to a power of two, never below 32), so the 11,711 airline tweets get
    the `fast` preset's batches of 256 rather than IMDB's 1,024; IMDB's presets stay as they are."""
    tweets = hparams.Sizes(11_711, 13_824, 2_929)
    assert hparams.for_dataset(hparams.PRESETS["fast"], tweets).batch_size == 256
    assert hparams.for_dataset(hparams.PRESETS["dlwp"], tweets).batch_size == 128
    assert hparams.for_dataset(hparams.PRESETS["mslearn"], hparams.Sizes(800, 2_000, 200)).batch_size == 32
    for name, preset in hparams.PRESETS.items():
        assert hparams.for_dataset(preset, hparams.IMDB_SIZES) == preset, name


def test_small_sets_get_a_smaller_lstm_with_dropout_on_glove_and_large_ones_do_not():
    """Under 15,000 fitted texts lstm gets 16 units, GloVe's 50 dimensions a word and dropout 0.5 (measured: README
    "Small data sets"); a set of IMDB's size keeps the preset's shape."""
    small = hparams.Sizes(800, 2_700, 200, 35)
    lstm = hparams.for_dataset(hparams.PRESETS["lstm"], small)
    assert (lstm.units, lstm.embedding_dim, lstm.dropout, lstm.pooling) == (16, 50, 0.5, "glove")
    tiny_vocabulary = hparams.for_dataset(hparams.PRESETS["lstm"], hparams.Sizes(800, 400, 200, 35))
    assert tiny_vocabulary.embedding_dim == 50  # GloVe's vectors, not the vocabulary's cap of 401 // 16
    other_size = hparams.validate(replace(lstm, embedding_dim=64), small)  # a size of the user's: a random start
    assert lstm.glove_start and not other_size.glove_start
    assert "Its words start random: GloVe's vectors have 50 dimensions, this embedding 64" in hparams.pooling_note(other_size)
    assert "starts from its pretrained GloVe vector" in hparams.pooling_note(lstm)
    large = hparams.Sizes(30_000, 50_000, 5_000, 200)
    assert hparams.for_dataset(hparams.PRESETS["lstm"], large).units == 120
    assert hparams.for_dataset(hparams.PRESETS["lstm"], large).dropout == 0.0


def test_small_sets_get_fast_on_single_words_with_adam_and_large_ones_the_preset():
    """Under 15,000 fitted texts `fast` reads single words, at 4 times the rate, with Adam (measured: README "Small
    data sets"); a set of IMDB's size keeps the preset's 1-3-grams and RMSprop."""
    preset = hparams.PRESETS["fast"]
    small = hparams.for_dataset(preset, hparams.Sizes(800, 2_700, 200, 35))
    assert (small.ngrams, small.optimizer, small.learning_rate) == (1, "adam", preset.learning_rate * 4)
    large = hparams.for_dataset(preset, hparams.Sizes(30_000, 50_000, 5_000, 200))
    assert (large.ngrams, large.optimizer, large.learning_rate) == (3, "rmsprop", preset.learning_rate)


def test_small_sets_get_pooled_models_and_large_ones_the_notebooks():
    """Under 15,000 fitted texts mslearn and transfer pool over the words and lstm starts from GloVe (README "Small data sets"); a set
    of IMDB's size, and IMDB itself, keep the notebooks' models."""
    small, large = hparams.Sizes(800, 2_700, 200, 35), hparams.Sizes(30_000, 50_000, 5_000, 200)
    expected = {"mslearn": "max", "lstm": "glove", "transfer": "mean+max", "dlwp": None, "fast": None}
    for name, pooling in expected.items():
        assert hparams.for_dataset(hparams.PRESETS[name], small).pooling == pooling, name
        assert hparams.for_dataset(hparams.PRESETS[name], large).pooling is None, name
