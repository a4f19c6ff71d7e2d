"""One writer per document index folder: an ``flock`` on ``<folder>/.write.lock``.

Adding, removing and optimising take the lock for their whole run; opening an
index repairs it (rebuilds BM25 from the chunk table when their counts differ)
only if no writer holds it, because between a writer's two commits the counts
differ by design. The lock is the operating system's: released when the
process ends, however it ends.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")
LOCK_FILE = ".write.lock"


class _HasFolder(Protocol):
    folder: Path


_S = TypeVar("_S", bound=_HasFolder)


@contextmanager
def write_lock(folder: Path, *, wait: bool = True) -> Iterator[bool]:
    """The folder's exclusive write lock; with ``wait=False``, yields whether it was free."""
    with open(folder / LOCK_FILE, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def writing(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """Run an index-changing method under its folder's write lock."""

    def locked(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with write_lock(self.folder):
            return method(self, *args, **kwargs)

    locked.__name__, locked.__doc__ = method.__name__, method.__doc__
    return locked
