"""The registry of architectures is the one place that knows them: every preset's architecture has an entry, every
entry's settings exist, and no other module branches on an architecture's name."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import architectures, estimate, features, hparams
from core.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_every_preset_has_a_registered_architecture_whose_settings_exist():
    for preset in hparams.PRESETS.values():
        entry = architectures.get(preset.architecture)
        assert set(entry.uses) <= set(hparams.PARAMS), entry.name
        assert hparams.used(preset) == entry.uses + hparams.COMMON
        assert "binary" in entry.label_kinds


def test_the_featuriser_and_the_estimate_come_from_the_entry():
    hp = hparams.preset("mslearn")
    assert features.for_hparams(hp).state() == {"kind": "sequences", "num_words": 10_000, "maxlen": 500}
    seconds, _ = estimate.seconds_per_epoch(hp)
    entry = architectures.get("embedding_flatten")
    assert seconds == pytest.approx(25_000 / entry.base_rate * entry.work(hp))


def test_an_unknown_architecture_is_a_clear_error():
    with pytest.raises(ConfigError, match="architecture='cnn' is not one of multihot_mlp, embedding_flatten"):
        architectures.get("cnn")


def test_no_module_outside_the_registry_branches_on_an_architecture_or_featuriser_kind():
    names = "|".join(architectures.ARCHITECTURES)
    kinds = "|".join({entry.featurizer_kind for entry in architectures.ARCHITECTURES.values()})
    branch = re.compile(rf"(architecture\s*(==|!=|in)\s*[(\"'].*({names}))|(kind\s*(==|!=|in)\s*[(\"'].*({kinds}))")
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for folder in ("core", "pages")
        for path in (REPO / folder).rglob("*.py")
        if path.name != "architectures.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if branch.search(line)
    ]
    assert offenders == []


def test_dropout_without_a_hidden_layer_is_refused_for_every_architecture_with_a_dense_head():
    for preset in ("dlwp", "mslearn"):
        with pytest.raises(ConfigError, match="dropout needs at least one hidden layer"):
            hparams.make(preset, hidden_layers=0, dropout=0.3)


def test_a_name_taken_by_an_entry_or_a_preset_cannot_be_registered_again():
    with pytest.raises(ValueError, match="Already registered: lstm, lstm"):
        architectures.register(architectures.get("lstm"))
    assert list(hparams.PRESETS) == ["dlwp", "mslearn", "lstm", "fast", "transfer"]
