"""The one place where long-lived, process-wide objects live: loaded data, vocabularies, loaded models, data
prepared for training.

Everything here is created once per key, under a lock, so threads (Streamlit sessions, the training runner)
share a single copy instead of loading the same files again. `shared` keeps an object for the process's life;
`bounded` keeps large, rebuildable ones within a byte budget, dropping the least recently used.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")

_lock = threading.RLock()
_key_locks: dict[Hashable, threading.Lock] = {}
_objects: dict[Hashable, object] = {}
_bounded: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()  # key -> (object, bytes), oldest use first


def shared(key: Hashable, factory: Callable[[], T]) -> T:
    """The object stored under `key`, built by `factory` on first use; concurrent callers wait for one build."""
    with _lock:
        if key in _objects:
            return _objects[key]  # type: ignore[return-value]
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _lock:
            if key in _objects:
                return _objects[key]  # type: ignore[return-value]
        value = factory()
        with _lock:
            _objects[key] = value
        return value


def bounded(key: Hashable, factory: Callable[[], T], size: Callable[[T], int], budget: int) -> T:
    """The object under `key` in the bounded cache, built by `factory` on first use (concurrent callers wait for
    one build). The cache holds at most `budget` bytes (`size` of each object): the least recently used objects are
    dropped to make room, and one larger than the whole budget is returned without being kept."""
    with _lock:
        if key in _bounded:
            _bounded.move_to_end(key)
            return _bounded[key][0]  # type: ignore[return-value]
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _lock:
            if key in _bounded:
                _bounded.move_to_end(key)
                return _bounded[key][0]  # type: ignore[return-value]
        value = factory()
        nbytes = size(value)
        with _lock:
            if nbytes <= budget:
                while _bounded and sum(n for _, n in _bounded.values()) + nbytes > budget:
                    _bounded.popitem(last=False)
                _bounded[key] = (value, nbytes)
        return value


def bounded_bytes() -> int:
    """Bytes the bounded cache holds now."""
    with _lock:
        return sum(n for _, n in _bounded.values())


def has(key: Hashable) -> bool:
    """Whether the object under `key` is built already (pages show a spinner only while something loads)."""
    with _lock:
        return key in _objects or key in _bounded


def forget(key: Hashable) -> None:
    """Drop one object, e.g. a model whose files were deleted."""
    with _lock:
        _objects.pop(key, None)
        _bounded.pop(key, None)


def forget_about(part: Hashable) -> None:
    """Drop every object whose key (a tuple) holds `part`, e.g. all that was loaded from a deleted run's folder."""
    with _lock:
        for key in [k for k in _objects if isinstance(k, tuple) and part in k]:
            del _objects[key]
        for key in [k for k in _bounded if isinstance(k, tuple) and part in k]:
            del _bounded[key]
