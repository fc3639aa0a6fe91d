"""SIGINT, SIGTERM and SIGHUP end a run the same way: as an exception its ``except`` blocks can record.

Python turns only SIGINT into an exception (``KeyboardInterrupt``). ``timeout``, CI cancellation,
docker and systemd send SIGTERM, and a closed terminal sends SIGHUP; by default both end the process
at once, and the run folder keeps saying ``running``. :func:`install` makes all three raise
:class:`Interrupted` (a ``KeyboardInterrupt``) in the main thread; the process then exits with
``128 + signal number``, as a shell reports a death by that signal.

While a run records its end (:func:`deferred`), a further signal is held back and raised just
after, so a second Ctrl-C cannot cut the record in half.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator

SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)
_held: list[int] | None = None  # signals that arrived inside deferred(), or None outside it


class Interrupted(KeyboardInterrupt):
    """The process received ``signum``; ``exit_code`` is ``128 + signum``."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        self.signame = signal.Signals(signum).name
        super().__init__(self.signame)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _handler(signum, frame):
    if _held is not None:
        _held.append(signum)
        return
    raise Interrupted(signum)


def install() -> Callable[[], None]:
    """From now on (main thread only), SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted`.

    Returns a function that puts the previous handlers back.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.signal(sig, _handler) for sig in SIGNALS}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    return restore


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold signals back inside the block; the first one held is raised when it ends."""
    global _held
    outer = _held
    _held = [] if outer is None else outer
    try:
        yield
    finally:
        held, _held = _held, outer
        if outer is None and held:
            raise Interrupted(held[0])


def describe(exc: BaseException) -> str:
    """``interrupted (SIGTERM)`` for an interrupt, else ``Type: message``."""
    if isinstance(exc, Interrupted):
        return f"interrupted ({exc.signame})"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (KeyboardInterrupt)"
    return f"{exc.__class__.__name__}: {exc}"


def exit_code(exc: BaseException) -> int:
    return exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT
