"""The `fast` preset's Keras model: fixed naive-Bayes ratios r times a learned weight per n-gram, then a sigmoid
(2 classes) or, with one r and one w per class and n-gram, a softmax (3 or more classes).

Kept apart from core.ngrams, the featuriser, so that featurising never waits for TensorFlow to load.
"""
from __future__ import annotations

from typing import Any

import keras

from core.hparams import HParams
from core.ngrams import NGrams


@keras.saving.register_keras_serializable(package="sentiment_lab")
class NBDotProduct(keras.layers.Layer):
    """logit = sum over a review's feature ids of w * r, plus b; r is fixed and r[0] = 0, so padding adds nothing.

    w starts at 0 and is learned; r scales both each feature's value and, under Adam/RMSprop, its step size, so
    strong naive-Bayes features move first. Dropout, when set, drops whole features of a review during training.
    With `logits` k > 1 (3 or more classes) w and r are (n_features, k) and there are k logits, one per class.
    """

    def __init__(self, n_features: int, dropout: float = 0.0, seed: int | None = None, logits: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_features, self.dropout, self.seed, self.logits = n_features, dropout, seed, logits
        self.seed_generator = keras.random.SeedGenerator(seed) if dropout > 0 else None

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        shape = (self.n_features,) if self.logits == 1 else (self.n_features, self.logits)  # binary: as ever saved
        self.w = self.add_weight(name="w", shape=shape, initializer="zeros")
        self.r = self.add_weight(name="r", shape=shape, initializer="zeros", trainable=False)
        self.b = self.add_weight(name="b", shape=(self.logits,), initializer="zeros")

    def call(self, ids: Any, training: bool | None = None) -> Any:
        ids = keras.ops.cast(ids, "int32")
        terms = keras.ops.take(self.w * self.r, ids, axis=0)  # one gather of the 1M products, not two of 1,438 x batch
        if training and self.dropout > 0:
            terms = keras.random.dropout(terms, self.dropout, seed=self.seed_generator)
        if self.logits == 1:
            return keras.ops.sum(terms, axis=-1, keepdims=True) + self.b
        return keras.ops.sum(terms, axis=1) + self.b  # (batch, width, k) -> (batch, k)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, int]:
        return (input_shape[0], self.logits)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n_features": self.n_features, "dropout": self.dropout, "seed": self.seed,
                "logits": self.logits}


def build_model(hp: HParams, featurizer: NGrams, num_classes: int = 2) -> keras.Model:
    """Feature ids -> NB dot product -> sigmoid (2 classes) or softmax (3+); the fitted ratios r are copied into
    the layer's fixed weights."""
    if not len(featurizer.keys):
        raise ValueError("fit the NGrams featuriser before building its model (it supplies the ratios r).")
    if featurizer.num_classes != num_classes:
        raise ValueError(f"the featuriser was fitted on {featurizer.num_classes} classes, not {num_classes}: fit it "
                         "on labels of every class.")
    inputs = keras.Input(shape=(None,), dtype="int32", name="feature_ids")
    logits = 1 if num_classes == 2 else num_classes
    dot = NBDotProduct(featurizer.n_features, dropout=hp.dropout, seed=hp.seed, logits=logits, name="nb_dot")
    logit = dot(inputs)
    dot.r.assign(featurizer.ratios if logits == 1 else featurizer.ratios.T)
    outputs = keras.layers.Activation("sigmoid" if logits == 1 else "softmax", name="sentiment")(logit)
    return keras.Model(inputs, outputs, name="ngram_nb")
