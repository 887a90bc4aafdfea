"""Load a large model once, on first use, and fail fast after a failed load.

ESMFold and the masked language model are loaded the first time a request needs them (the app
starts in seconds without them). A missing path or an unreachable Hub costs up to half a minute
of retries per attempt, so after a failure every request answers at once with the same message
for `LOAD_RETRY_SECONDS`, unless `retry()` is called (the page's "Retry" button).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

LOAD_RETRY_SECONDS = 600.0  # after a failed load, requests answer at once this long
T = TypeVar("T")


class FailFastLoader(Generic[T]):
    """`get()` returns what `load()` built, building it once (thread-safe); a failure raises
    `unavailable(error)` (an exception with the user's message) now and, without trying again,
    for the next LOAD_RETRY_SECONDS."""

    def __init__(self, load: Callable[[], T], unavailable: Callable[[BaseException], Exception], what: str):
        self._load = load
        self._unavailable = unavailable
        self._what = what
        self._value: T | None = None
        self._lock = threading.Lock()
        self._failure: tuple[float, Exception] | None = None

    @property
    def loaded(self) -> bool:
        return self._value is not None

    @property
    def failed(self) -> bool:
        """Whether the last attempt failed (and the next `get()` answers at once)."""
        return self._failure is not None

    def retry(self) -> None:
        """Forget the last failure: the next `get()` tries again at once."""
        with self._lock:
            self._failure = None

    def get(self) -> T:
        if self._value is not None:
            return self._value
        with self._lock:
            if self._value is not None:
                return self._value
            if self._failure and time.monotonic() - self._failure[0] < LOAD_RETRY_SECONDS:
                raise self._failure[1]
            try:
                value = self._load()
            except Exception as error:  # noqa: BLE001 - any load failure means the same to users
                log.warning("%s unavailable: %s", self._what, error)
                unavailable = self._unavailable(error)
                self._failure = (time.monotonic(), unavailable)
                raise unavailable from error
            self._failure = None
            self._value = value
            return value


class LoadsOnFirstUse:
    """What a lazily loaded model tells its callers, over its `_loader` (a FailFastLoader): shared
    by ESMFold and the masked language model so the page treats both alike."""

    _loader: FailFastLoader

    @property
    def loaded(self) -> bool:
        return self._loader.loaded

    @property
    def load_failed(self) -> bool:
        """Whether the last attempt to load failed (and the next request answers at once)."""
        return self._loader.failed

    def retry_loading(self) -> None:
        """Forget the last load failure: the next request tries to load the weights again."""
        self._loader.retry()

    def load(self):
        """The model, loaded the first time; the loader's `unavailable` error if it cannot be
        (and, for the next LOAD_RETRY_SECONDS, at once)."""
        return self._loader.get()
