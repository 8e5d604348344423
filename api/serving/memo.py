"""A small thread-safe cache of the last results per key, for results that are computed on
request and stay valid as long as what their key names (a loaded state, a pipeline marker, a
chart's data) does not change."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Memo:
    """The last ``size`` results, least recently used dropped first. Two threads missing the
    same key may both compute it; the last one stored wins (results are equal)."""

    def __init__(self, size: int = 8) -> None:
        self._items: OrderedDict[tuple[object, ...], object] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        """The result stored for ``key``, else ``make()`` stored."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]  # type: ignore[return-value]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value
