"""In-memory memo of recent results, shared by the app's threads: least recently used leave first."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LockedLRU(Generic[K, V]):
    """`get(key)` -> value or None (a hit makes the entry the most recent); `put(key, value)`.

    A `cachetools.LRUCache` behind a lock: Gradio runs handlers on several threads, and a read
    reorders the cache, so reads need the lock as much as writes. `max_entries` 0 keeps nothing.
    """

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._cache: LRUCache[K, V] | None = LRUCache(max_entries) if max_entries > 0 else None
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        if self._cache is None:
            return None
        with self._lock:
            return self._cache.get(key)

    def put(self, key: K, value: V) -> None:
        if self._cache is None:
            return
        with self._lock:
            self._cache[key] = value

    def __len__(self) -> int:
        with self._lock:
            return 0 if self._cache is None else len(self._cache)

    def clear(self) -> None:
        with self._lock:
            if self._cache is not None:
                self._cache.clear()
