"""A map of what a model learned: one vector per frequent word from the model's first layer, projected to 2-D, with
each word's effect on the score and its nearest words.

Which vectors: the Embedding rows of the embedding presets (mslearn, lstm, transfer); the first Dense layer's
kernel rows of the multi-hot model (dlwp: one row of `units` weights per word); the unigram features of the `fast`
model (per class: its learned w, its naive-Bayes ratio r, and w * r, the logit a word adds).
A word's effect: the score of a review holding only that word minus the score of an empty review (for 3+ classes:
the largest rise of any class's probability, and which class).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import architectures, predict, registry
from core.data.imdb import INDEX_FROM, START
from core.errors import ConfigError

MAX_WORDS = 5_000
MAX_TSNE_WORDS = 1_000  # t-SNE takes tens of seconds for 1,000 words on a busy 2-core server; PCA takes all
METHODS = ("PCA", "t-SNE")
CAVEAT = (
    "What a projection can show: words the model treats alike end up near each other, and the colour is measured "
    "directly (the score of the word alone). What it cannot show: distances in 2-D are not the distances in the "
    "model's {dim} dimensions ({kept} of the spread is kept by PCA's two axes here), the axes mean nothing by "
    "themselves, t-SNE's clusters and gaps depend on its settings and its random start, and a word's effect inside a "
    "real review depends on the words around it. Check a pattern with the neighbours list, which uses all "
    "{dim} dimensions."
)


@dataclass(frozen=True)
class WordMap:
    words: list[str]
    ids: np.ndarray  # each word's id
    vectors: np.ndarray  # (words, dim): the model's own rows
    xy: np.ndarray  # (words, 2)
    effects: np.ndarray  # (words,)
    towards: list[str]  # the class each word pushes towards
    method: str
    source: str  # which layer the rows come from, in words
    kept: float | None  # PCA: share of the variance its two axes keep
    classes: tuple[str, ...] = ()  # the model's class names; with 3+ an effect is the rise of `towards`'s probability

    @property
    def caveat(self) -> str:
        kept = "an unknown share" if self.kept is None else f"{self.kept:.0%}"
        return CAVEAT.format(dim=self.vectors.shape[1], kept=kept)

    def neighbours(self, word: str, k: int = 10) -> list[tuple[str, float]] | None:
        """The k words with the most similar vectors (cosine, in the model's full dimensions); None for a word not
        on the map."""
        word = word.strip().lower()
        if word not in self.words:
            return None
        at = self.words.index(word)
        norms = np.linalg.norm(self.vectors, axis=1) + 1e-12
        sims = self.vectors @ self.vectors[at] / (norms * norms[at])
        sims[at] = -np.inf
        best = np.argsort(-sims)[:k]
        return [(self.words[i], float(sims[i])) for i in best]


def _rows(scorer: predict.Scorer) -> tuple[np.ndarray, str]:
    """One row per word id from the model's first layer, and where they come from (the architecture's entry says
    how to read them)."""
    return architectures.get(scorer.hp.architecture).word_rows(scorer.bundle.featurizer, scorer.bundle.model)


def ngram_rows(featurizer, model) -> tuple[np.ndarray, str]:
    """The n-gram model's one-word features: w, r and w × r per class."""
    dot = model.get_layer("nb_dot")
    w, r = (np.asarray(v).reshape(len(np.asarray(v)), -1) for v in (dot.w.numpy(), dot.r.numpy()))
    ids = np.arange(featurizer.num_words)
    at = np.searchsorted(featurizer.keys, ids)
    at = np.minimum(at, len(featurizer.keys) - 1)
    known = featurizer.keys[at] == ids
    rows = np.zeros((len(ids), 3 * w.shape[1]), dtype=np.float32)
    rows[known] = np.concatenate([w, r, w * r], axis=1)[at[known] + 1]
    return rows, "the n-gram model's one-word features (w, r and w × r per class)"


def dense_rows(featurizer, model) -> tuple[np.ndarray, str]:
    """A multi-hot model's first Dense layer: one row per word."""
    dense = next(layer for layer in model.layers if layer.get_weights())
    return np.asarray(dense.get_weights()[0]), f"the first Dense layer's weights ({dense.name}, one row per word)"


def embedding_rows(featurizer, model) -> tuple[np.ndarray, str]:
    """The word vectors of a model's layer named "embedding"."""
    return np.asarray(model.get_layer("embedding").get_weights()[0]), "the Embedding layer's word vectors"


def _effects(scorer: predict.Scorer, ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    scores = scorer.score_ids([[START]] + [[START, int(i)] for i in ids])
    labels = scorer.labels
    if scores.ndim == 1:
        effects = scores[1:] - scores[0]
        return effects, [labels[1] if e > 0 else labels[0] for e in effects]
    rise = scores[1:] - scores[0]
    return rise.max(axis=1), [labels[c] for c in rise.argmax(axis=1)]


def _project(vectors: np.ndarray, method: str, seed: int = 0) -> tuple[np.ndarray, float | None]:
    centred = vectors - vectors.mean(axis=0)
    if method == "t-SNE":
        from sklearn.manifold import TSNE

        xy = TSNE(2, init="pca", random_state=seed, max_iter=300,
                  perplexity=min(30, max(2, len(vectors) - 1) / 3)).fit_transform(
            centred.astype(np.float64))
        return xy.astype(np.float32), None
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2] if len(vt) >= 2 else np.vstack([vt, np.zeros_like(vt)])[:2]
    total = float((s ** 2).sum()) or 1.0
    return centred @ axes.T, float((s[:2] ** 2).sum() / total)


def build(run_dir: Path | str, words: int = 2_000, method: str = "PCA") -> WordMap:
    """The map of a run's `words` most frequent words (a ConfigError for a count or method out of range)."""
    if method not in METHODS:
        raise ConfigError(f"method={method!r} is not one of {', '.join(METHODS)}.")
    most = MAX_TSNE_WORDS if method == "t-SNE" else MAX_WORDS
    if not 10 <= words <= most:
        raise ConfigError(f"A {method} map shows 10 to {most:,} words, not {words:,}.")
    scorer = predict.scorer(run_dir)
    rows, source = _rows(scorer)
    vocabulary = scorer.bundle.vocabulary
    last = min(len(rows), scorer.hp.num_words, INDEX_FROM + 1 + words)
    ids = np.arange(INDEX_FROM + 1, last)
    names = [vocabulary.word(int(i) - INDEX_FROM) or "?" for i in ids]
    vectors = rows[ids]
    effects, towards = _effects(scorer, ids)
    xy, kept = _project(vectors, method)
    return WordMap(names, ids, vectors, xy, effects, towards, method, source, kept, tuple(scorer.labels))


def shared(run_dir: Path | str, words: int = 2_000, method: str = "PCA") -> WordMap:
    """`build`, once per process for a run, word count and method (the model file's version is in the key)."""
    model = Path(run_dir) / "model.keras"
    stamp = model.stat().st_mtime_ns if model.is_file() else 0
    return registry.shared(("word map", str(Path(run_dir).resolve()), stamp, words, method),
                           lambda: build(run_dir, words, method))
