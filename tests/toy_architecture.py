"""A toy architecture added from outside core, the way a new one is added: one `register(...)` call plus its Keras
builder. Importing this module registers it (tests/test_toy_architecture.py removes it again afterwards)."""
from __future__ import annotations

from core import architectures, features, memory
from core.settings import HParams


def build(hp: HParams, featurizer: features.Sequences | None, num_classes: int):
    """Embedding -> mean of the review's words -> the lab's output layer."""
    import keras

    from core.models import output

    inputs = keras.Input(shape=(hp.maxlen,), dtype="int32", name="ids")
    x = keras.layers.Embedding(hp.num_words, hp.embedding_dim, name="embedding")(inputs)
    return keras.Model(inputs, output(keras.layers.GlobalAveragePooling1D(name="mean")(x), num_classes), name="toy")


ENTRY = architectures.register(architectures.Architecture(
    "toy_mean",
    uses=("num_words", "maxlen", "embedding_dim"),
    featurizer=features.sequence_featurizer,
    featurizer_kind="sequences",
    restore=features.Sequences.from_state,
    build=build,
    base_rate=20_000.0,
    work=lambda hp: hp.maxlen * hp.embedding_dim / (500 * 32),
    memory=lambda hp: memory.Shape(params=(hp.num_words + 1) * hp.embedding_dim + 1, input_bytes=memory.FLOAT * hp.maxlen,
                                   activation_bytes=memory.FLOAT * hp.maxlen * hp.embedding_dim),
    presets=(architectures.Preset("toy", "A toy: Embedding 8 over 100 ids → mean of words, adam",
                                  dict(num_words=2_000, maxlen=100, embedding_dim=8, optimizer="adam",
                                       learning_rate=0.01, batch_size=128, epochs=2)),),
))
