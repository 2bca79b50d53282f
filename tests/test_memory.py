"""The memory estimate: computed before anything is built, refusing configurations the server cannot hold, and shown
on the Train page, whose layer table never builds a huge model (issue 9, item 6)."""
from __future__ import annotations

import resource
from pathlib import Path

import pytest

from core import config, hparams, memory
from core.errors import ConfigError
from pagetest import ok, open_page

# The configurations of the issue: each asked the machine for many gigabytes.
HUGE_LAYER_TABLE = dict(maxlen=2500, embedding_dim=512, units=1024)  # mslearn: 16 GB just to list its layers
HUGE_BATCH = dict(maxlen=2500, embedding_dim=512, batch_size=4096)  # a 21 GB tensor per batch


@pytest.mark.parametrize("preset", list(hparams.PRESETS))
def test_every_preset_fits_a_small_classroom_server(preset, monkeypatch):
    monkeypatch.setenv(config.MAX_TRAINING_GB_ENV, "4")
    found = memory.refuse_too_large(hparams.preset(preset))
    assert 0.5 * memory.GB < found.total < 4 * memory.GB


@pytest.mark.parametrize("preset, overrides, part, setting", [
    ("mslearn", HUGE_LAYER_TABLE, "weights", "units"),
    ("mslearn", HUGE_BATCH, "activations", "batch_size"),
    ("dlwp", dict(num_words=88_588, limit=24_900, val_size=100), "features", "num_words"),
])
def test_the_issues_configurations_are_refused_with_the_setting_to_lower(preset, overrides, part, setting, monkeypatch):
    monkeypatch.setenv(config.MAX_TRAINING_GB_ENV, "4")
    hp = hparams.make(preset, **overrides)
    assert memory.estimate(hp).largest() == part
    with pytest.raises(ConfigError) as refused:
        memory.refuse_too_large(hp)
    message = str(refused.value)
    assert config.MAX_TRAINING_GB_ENV in message and setting in message.split(": lower ", 1)[1]


def test_the_default_limit_is_half_the_machines_memory(monkeypatch):
    monkeypatch.delenv(config.MAX_TRAINING_GB_ENV, raising=False)
    assert config.max_training_bytes() == int(config.machine_memory_bytes() * 0.5)
    monkeypatch.setenv(config.MAX_TRAINING_GB_ENV, "2.5")
    assert config.max_training_bytes() == int(2.5 * memory.GB)
    for bad in ("lots", "0", "-1", "nan", "1e9"):
        monkeypatch.setenv(config.MAX_TRAINING_GB_ENV, bad)
        with pytest.raises(ConfigError, match=f"{config.MAX_TRAINING_GB_ENV} must be a number of gigabytes"):
            config.max_training_bytes()


@pytest.mark.parametrize("preset, overrides", [
    ("dlwp", {}), ("dlwp", dict(hidden_layers=0)), ("dlwp", dict(hidden_layers=4, units=7)),
    ("mslearn", {}), ("mslearn", dict(hidden_layers=1, maxlen=40)), ("lstm", dict(units=9, embedding_dim=5)),
])
def test_the_parameter_count_is_kerass_without_building_the_model(preset, overrides):
    from core import models

    hp = hparams.make(preset, **overrides)
    assert memory.parameters(hp) == models.describe(hp).count_params()


# --- the Train page ---------------------------------------------------------------------------------------------------
@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    monkeypatch.delenv(config.MAX_TRAINING_GB_ENV, raising=False)
    return tmp_path / "lab"


def _start(at):
    return next(b for b in at.button if b.label == "▶ Start training")


def test_the_train_page_shows_the_memory_estimate_beside_the_time(home):
    at = open_page("pages/train.py")
    labels = [m.label for m in at.metric]
    assert "Estimated wait" in labels and "Estimated memory" in labels
    shown = next(m for m in at.metric if m.label == "Estimated memory").value
    assert shown == memory.gigabytes(memory.estimate(hparams.preset("dlwp")).total)


def test_a_link_to_a_huge_model_is_refused_without_building_it(home):
    """Before: opening this link built the model for the layer table and allocated about 16 GB."""
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    at = open_page("pages/train.py", preset="mslearn", **{k: str(v) for k, v in HUGE_LAYER_TABLE.items()})
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) * 1024
    errors = " ".join(e.value for e in at.error)
    assert "SENTIMENT_LAB_MAX_TRAINING_GB" in errors and "lower" in errors
    assert not at.dataframe and _start(at).disabled
    assert grown < 1 * memory.GB, f"the page grew the process's peak memory by {grown / memory.GB:.1f} GB"


def test_a_large_model_below_the_limit_gets_no_layer_table_but_can_train(home):
    at = open_page("pages/train.py", preset="mslearn", maxlen="2500", embedding_dim="64", units="256")
    assert memory.parameters(hparams.make("mslearn", maxlen=2500, embedding_dim=64, units=256)) > 20_000_000
    assert not at.error and not at.dataframe and not _start(at).disabled
    assert any("too many to build a copy" in c.value for c in at.caption)
    ok(at)


def test_the_fast_estimate_counts_its_featurised_test_split():
    """`fast` featurises the 25,000 test reviews with the others and keeps them until they are scored."""
    hp = hparams.make("fast")
    shape = memory.ngram_nb(hp)
    assert shape.keeps_test and not memory.multihot_mlp(hparams.make("dlwp")).keeps_test
    fitted = (hp.train_reviews() + hp.val_size) * max(shape.input_bytes * memory.MATRIX_COPIES, shape.work_bytes)
    assert memory.estimate(hp).features == fitted + 25_000 * shape.input_bytes  # about 137 MB more
