"""The one place where long-lived, process-wide objects live: loaded data, vocabularies, loaded models.

Everything here is created once per key, under a lock, so threads (Streamlit sessions, the training runner)
share a single copy instead of loading the same files again.
"""
from __future__ import annotations

import threading
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")

_lock = threading.RLock()
_key_locks: dict[Hashable, threading.Lock] = {}
_objects: dict[Hashable, object] = {}


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


def has(key: Hashable) -> bool:
    """Whether the object under `key` is built already (pages show a spinner only while something loads)."""
    with _lock:
        return key in _objects


def forget(key: Hashable) -> None:
    """Drop one object, e.g. a model whose files were deleted."""
    with _lock:
        _objects.pop(key, None)


def forget_about(part: Hashable) -> None:
    """Drop every object whose key (a tuple) holds `part`, e.g. all that was loaded from a deleted run's folder."""
    with _lock:
        for key in [k for k in _objects if isinstance(k, tuple) and part in k]:
            del _objects[key]
