"""A run's model as one `.keras` file that reads raw strings and loads in plain Keras: no `core`, no custom objects.

The lab turns text into ids with the Keras `Tokenizer` rule (lower-case, each filter character becomes a space,
split on spaces; see core.data.vocab). `TextVectorization` cannot apply that rule by itself: its punctuation option
deletes the characters (joining "film.<br" into "filmbr") and deletes apostrophes the word index keeps ("don't"),
and a custom standardize function would have to be registered wherever the file is loaded. So the file tokenises
with stock pieces only:

1. `TextVectorization(split="character")` over the characters of the vocabulary gives one id per character;
2. a frozen Embedding maps each character to its lower-case code (0 for a filter character or space) and marks the
   characters that separate the lab's chunks (space, tab, newline; a lone `?` there is the unknown word, as in
   the lab);
3. `keras.ops` compute two polynomial hashes of each word (24-bit, so float32 tables hold them exactly);
4. an `IntegerLookup` keyed by the hashes of the word index's words gives each word its id, ordered so that its
   index is the lab's id (rank + 3); ids past the run's vocabulary become the unknown id, words absent are dropped;
5. the featuriser's own output, with stock layers: pre-padded sequences (a sort moves the kept ids to the end),
   multi-hot (`CategoryEncoding`), or the `fast` preset's n-grams (an `IntegerLookup` multi-hot over the n-gram
   keys, ordered by naive-Bayes strength, so that keeping the first `width` matches the lab's truncation), then a
   `Dense` layer holding w * r.

A word of another text could share both hashes with a vocabulary word (about one chance in 10^9 per unknown word);
texts longer than predict.MAX_TEXT_CHARS are read up to that length (the lab refuses them).
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np

from core import bundle as bundles
from core import architectures, atomic_file, registry
from core.data.imdb import INDEX_FROM, OOV, START
from core.errors import ConfigError, quoted
from core.predict import MAX_TEXT_CHARS
from core.data.vocab import FILTERS, OOV_MARK

MODULI = (16_777_213, 16_777_199)  # primes below 2**24: every table value is exact in float32
BASES = (911_382_323 % MODULI[0], 972_663_749 % MODULI[1])
KEY_SHIFT = 1 << 24
CHUNK_SPACES = " \t\n"  # what the lab splits chunks on (vocab.Vocabulary.tokens)
LONE_UNKNOWN = -7  # the key of a lone "?" chunk: the unknown id, as the lab reads it
UNUSED_KEY = -8  # keys for ids no word can have (start, unused id 3, gaps); each made unique by subtracting


def _is_plain(word: str, chars: dict[str, int]) -> bool:
    """Whether the lab can produce `word` as a token: lower-case, no filter character or space."""
    return bool(word) and word == word.lower() and all(c in chars and c not in FILTERS and c != " " for c in word)


def character_codes(words: list[str]) -> tuple[list[str], np.ndarray]:
    """The characters the tokenizer knows and a (2 + len, 2) table: row i (TextVectorization's id) -> [code, chunk
    space]. Code 0: separator (padding, space, filter character); 1: a character of no vocabulary word; 2+: one per
    lower-case character, shared by every character whose lower-case form it is."""
    lower = sorted({c for w in words if w == w.lower() for c in w} - set(FILTERS) - {" "})
    code = {c: i + 2 for i, c in enumerate(lower)}
    upper = [chr(p) for p in range(sys.maxunicode + 1)
             if 0xD800 > p or p > 0xDFFF]
    upper = [c for c in upper if c not in code and len(c.lower()) == 1 and c.lower() in code]
    separators = sorted(set(FILTERS) | {" "})
    chars = lower + upper + separators
    table = np.zeros((len(chars) + 2, 2), dtype=np.float32)
    table[1] = [1, 0]
    for i, c in enumerate(chars, start=2):
        table[i] = [code.get(c.lower(), 0) if c not in separators else 0, c in CHUNK_SPACES]
    table[0] = [0, 1]  # padding ends a chunk
    return chars, table


def word_hash(word: str, char_code: dict[str, int]) -> int:
    """The key the model computes for a word: two polynomial hashes of its characters' codes, in one int64."""
    key = 0
    for modulus, base in zip(MODULI, BASES):
        h, power = 0, 1
        for c in word:
            h = (h + char_code[c] * power) % modulus
            power = power * base % modulus
        key = key * KEY_SHIFT + h
    return key


def word_keys(word_to_rank: dict[str, int], char_code: dict[str, int]) -> list[int]:
    """IntegerLookup's vocabulary: entry i is the key of the word with id i + 1, so the lookup's index (1 + entry,
    with one OOV index) is the lab's id. Ids no typed word can reach get unique negative keys."""
    size = max(word_to_rank.values()) + INDEX_FROM + 1
    keys = [UNUSED_KEY - i for i in range(size)]
    keys[OOV] = LONE_UNKNOWN
    seen: dict[int, str] = {}
    for word, rank in word_to_rank.items():
        if not _is_plain(word, char_code):
            continue
        key = word_hash(word, char_code)
        if key in seen:
            raise ValueError(f"the words {seen[key]!r} and {word!r} share a hash; the model cannot tell them apart")
        seen[key] = word
        keys[rank + INDEX_FROM] = key
    return keys[1:]


def _powers(modulus: int, base: int) -> np.ndarray:
    out = np.empty((MAX_TEXT_CHARS + 2, 1), dtype=np.float32)
    value = 1
    for i in range(len(out)):
        out[i] = value
        value = value * base % modulus
    return out


def _frozen_table(table: np.ndarray, name: str):
    import keras

    layer = keras.layers.Embedding(len(table), table.shape[1], trainable=False, name=name)
    layer.build((None,))
    layer.set_weights([table])
    return layer


def _shift(x, forward: bool):
    """A boolean x moved one place along axis 1 (forward: x[i-1] at i), True entering at the open end."""
    from keras import ops

    edge = ops.ones_like(x[:, :1])
    return ops.concatenate([edge, x[:, :-1]], axis=1) if forward else ops.concatenate([x[:, 1:], edge], axis=1)


def token_ids(text, word_to_rank: dict[str, int], num_words: int):
    """Graph from a (batch,) string tensor to (batch, 1 + characters) int64: the START id in column 0, then each
    token's lab id at its last character and 0 everywhere else."""
    import keras
    from keras import ops

    chars, table = character_codes(list(word_to_rank))
    char_code = {c: int(table[i + 2, 0]) for i, c in enumerate(chars)}
    split = keras.layers.TextVectorization(standardize=None, split="character", vocabulary=chars,
                                           name="characters")(text)
    c = ops.concatenate([ops.zeros_like(split[:, :1]), split[:, :MAX_TEXT_CHARS]], axis=1)  # column 0: a separator
    codes = _frozen_table(table, "character_codes")(c)
    code = ops.cast(codes[:, :, 0], "int64")
    chunk_space = codes[:, :, 1] > 0.5
    sep = ops.equal(code, 0)
    pos = ops.cumsum(ops.ones_like(code), axis=1) - 1
    # the last separator at or before each place: separators sorted first, in order, then the count of them so far
    order = ops.argsort(ops.where(sep, pos, pos + MAX_TEXT_CHARS + 2), axis=1)
    last_sep = ops.take_along_axis(order, ops.cumsum(ops.cast(sep, "int64"), axis=1) - 1, axis=1)
    offset = ops.maximum(pos - last_sep - 1, 0)
    key = None
    for n, (modulus, base) in enumerate(zip(MODULI, BASES)):
        power = ops.cast(_frozen_table(_powers(modulus, base), f"hash_powers_{n}")(offset)[:, :, 0], "int64")
        total = ops.cumsum(ops.where(sep, 0, code * power), axis=1)
        h = ops.mod(total - ops.take_along_axis(total, last_sep, axis=1), modulus)
        key = h if key is None else key * KEY_SHIFT + h
    ends = ops.logical_and(ops.logical_not(sep), _shift(sep, forward=False))
    lone = ops.logical_and(ops.equal(c, chars.index(OOV_MARK) + 2),
                           ops.logical_and(_shift(chunk_space, True), _shift(chunk_space, False)))
    key = ops.where(ends, key, ops.where(lone, LONE_UNKNOWN, -1))
    index = keras.layers.IntegerLookup(vocabulary=np.array(word_keys(word_to_rank, char_code), dtype=np.int64),
                                       num_oov_indices=1, mask_token=None, name="words")(key)
    index = ops.cast(index, "int64")
    ids = ops.where(ops.greater_equal(index, num_words), OOV, index)
    return ops.where(ops.equal(pos, 0), START, ids)


def compact(ids):
    """The kept (non-zero) ids moved to the end of each row, in order, zeros in front."""
    from keras import ops

    pos = ops.cumsum(ops.ones_like(ids), axis=1)
    order = ops.argsort(ops.where(ops.greater(ids, 0), pos, -1), axis=1)
    return ops.take_along_axis(ids, order, axis=1)


def padded(ids, maxlen: int):
    """`pad_sequences(maxlen, padding="pre", truncating="pre")` of the kept ids."""
    from keras import ops

    front = ops.repeat(ops.zeros_like(ids[:, :1]), maxlen, axis=1)
    return ops.cast(ops.concatenate([front, compact(ids)], axis=1)[:, -maxlen:], "int32")


def multi_hot(ids, num_words: int):
    """1 at each id a review holds (never at the padding id 0)."""
    import keras
    from keras import ops

    hot = keras.layers.CategoryEncoding(num_words, output_mode="multi_hot", name="multi_hot_words")(ids)
    return ops.concatenate([ops.zeros_like(hot[:, :1]), hot[:, 1:]], axis=1)


def ngram_scores(ids, featurizer, weights: np.ndarray, bias: np.ndarray):
    """The `fast` model on ids: each review's distinct known n-grams, the `width` strongest kept, their w * r summed
    with b, then the sigmoid (2 classes) or softmax.

    The n-gram lookup is ordered by naive-Bayes strength, so a review's sorted distinct feature indices are its
    features strongest first, as the lab keeps them.
    """
    import keras
    from keras import ops

    seq = compact(ids)
    keys = []
    for n in range(1, featurizer.ngrams + 1):
        parts = [seq[:, j: (j - n + 1) or None] for j in range(n)]
        key = parts[0]
        for part in parts[1:]:
            key = key * featurizer.num_words + part
        keys.append(ops.where(ops.greater(parts[0], 0), key, -1))
    order = featurizer.strongest_first()
    index = keras.layers.IntegerLookup(vocabulary=featurizer.keys[order - 1], num_oov_indices=1, mask_token=None,
                                       name="ngram_features")(ops.concatenate(keys, axis=1))
    index = ops.sort(ops.cast(index, "int64"), axis=1)
    previous = ops.concatenate([ops.zeros_like(index[:, :1]), index[:, :-1]], axis=1)
    first = ops.logical_and(ops.greater(index, 0), ops.not_equal(index, previous))
    kept = ops.logical_and(first, ops.less_equal(ops.cumsum(ops.cast(first, "int64"), axis=1), featurizer.width))
    logits = 1 if weights.ndim == 1 else weights.shape[1]
    table = np.zeros((len(order) + 2, logits), dtype=np.float32)  # row 0: nothing; last row: the bias b
    table[1:-1] = weights[order].reshape(len(order), logits)
    table[-1] = bias.reshape(logits)
    bias_column = ops.zeros_like(index[:, :1]) + len(order) + 1
    terms = _frozen_table(table, "ngram_weights")(ops.concatenate([ops.where(kept, index, 0), bias_column], axis=1))
    logit = ops.sum(terms, axis=1)
    return keras.layers.Activation("sigmoid" if logits == 1 else "softmax", name="score")(logit)


def sequence_scores(ids, featurizer, model):
    """A model that reads padded ids (an Embedding first), on the raw-text ids."""
    return model(padded(ids, featurizer.maxlen))


def multi_hot_scores(ids, featurizer, model):
    """A model that reads multi-hot rows, on the raw-text ids."""
    return model(multi_hot(ids, featurizer.num_words))


def ngram_model_scores(ids, featurizer, model):
    """The n-gram model's scores, from its learned w, fixed r and b (see `ngram_scores`)."""
    import keras

    dot = model.get_layer("nb_dot")
    w, r, b = (np.asarray(keras.ops.convert_to_numpy(v)) for v in (dot.w, dot.r, dot.b))
    return ngram_scores(ids, featurizer, w * r, b)


def build(loaded: bundles.Bundle):
    """The run's model behind the raw-text tokenizer, with its class names in a `class_names` StringLookup layer
    (read with `get_vocabulary(include_special_tokens=False)`); the output is the lab's: P(label 1) for two classes,
    each class's probability for more."""
    import keras
    from keras import ops

    featurizer, model = loaded.featurizer, loaded.model
    num_words = min(loaded.hp.num_words, featurizer.num_words)
    text = keras.Input(shape=(), dtype="string", name="text")
    ids = token_ids(text, loaded.vocabulary.word_to_rank, num_words)
    scores = architectures.get(loaded.hp.architecture).raw_text_scores(ids, featurizer, model)
    names = keras.layers.StringLookup(vocabulary=list(loaded.labels), oov_token="\x00", name="class_names")(text)
    scores = scores + ops.zeros_like(scores) * ops.expand_dims(ops.cast(names, scores.dtype), -1)
    return keras.Model(text, scores, name=f"sentiment_lab_{loaded.hp.architecture}")


def export(run_dir: Path | str, out: Path | str) -> Path:
    """Write the raw-text model of the run folder to `out` (a `.keras` file), through a temporary name; a
    ModelFileError for a folder with no usable model, a ConfigError for an unusable destination."""
    out = Path(out).expanduser()
    if out.suffix != ".keras":
        raise ConfigError(f"The file name {quoted(out.name)} must end in .keras: Keras saves models only so.")
    if not out.parent.is_dir():
        raise ConfigError(f"The folder {out.parent} does not exist: create it first, or choose another --out.")
    model = build(bundles.load(run_dir))
    try:
        atomic_file.write(out, model.save)
    except OSError as exc:
        raise ConfigError(f"Could not write {out}: {exc.strerror or exc}.") from None
    return out


def exported_bytes(run_dir: Path | str) -> bytes:
    """The raw-text model file's contents, made in a private temporary folder (for a download). One export at a
    time per process: each takes seconds of CPU, and visitors clicking at once must not take the server's cores."""
    import tempfile

    with registry.shared(("raw-text export lock",), threading.Lock):
        with tempfile.TemporaryDirectory(prefix="sentiment-lab-export-") as folder:
            return export(run_dir, Path(folder) / "model.keras").read_bytes()
