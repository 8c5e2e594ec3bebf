"""Random draws while staging: an error that names the line, never a frozen number.

A function is staged once and its program runs on every call, so a number drawn while
staging (``np.random.normal(size=3)``, ``rng.normal(...)`` of a ``numpy.random.Generator``)
would be the same "random" number in every call. NumPy's generators are C code that
no Python hook sees being called, so staging watches their *states* instead: the
generators the function can reach (its closure, the globals it reads, its static
arguments, NumPy's global ``RandomState``, and any generator that appears among the
user's local variables while staging) are fingerprinted when first seen, and each new
constant that enters the program, and the end of staging, compares the fingerprints.
A generator found among the locals is compared with the state it was seeded with, so
a generator created inside the function and drawn from is caught too; so is one that
``np.random.default_rng`` creates while staging and that no variable holds
(``np.random.default_rng().normal(size=3)``): ``np.random.default_rng`` is watched
while staging (a name bound by ``from numpy.random import default_rng`` before staging
is not).

``nn.fit`` stages its training step with a generator that replays draws made ahead
of the step (its bit generator is never advanced), so its draws are arguments of the
program and pass this check.
"""
import contextlib
import ctypes
import sys
import threading

import numpy as np

__all__ = ["DrawWatch"]

_GENERATOR_BITS = np.random.Generator.bit_generator   # read past a subclass's __getattribute__
_MT_STATE_BYTES = 624 * 4 + 4   # mt19937_state: uint32 key[624], int pos


def _bit_generator(obj):
    if isinstance(obj, np.random.Generator):
        return _GENERATOR_BITS.__get__(obj)
    if isinstance(obj, np.random.RandomState):
        return obj._bit_generator
    if isinstance(obj, np.random.BitGenerator):
        return obj
    return None


def _fingerprint(bits):
    """The generator's state, as a value that changes with every draw (MT19937's is read
    from its C struct: its ``.state`` copies 624 words into a dict, 100 µs a read)."""
    if type(bits) is np.random.MT19937:
        return ctypes.string_at(bits.ctypes.state_address, _MT_STATE_BYTES)
    return repr(bits.state)


# names a function that creates a generator reads (np.random.default_rng, Generator, ...)
_GENERATOR_NAMES = frozenset({"random", "default_rng", "Generator", "RandomState",
                              "SeedSequence", "PCG64", "MT19937", "Philox", "SFC64"})


def _makes_generators(code):
    """Whether a function may create a generator: only such a frame's locals are read
    (reading them keeps a snapshot of them, a dead intermediate array among them, alive
    as long as the frame runs)."""
    return not _GENERATOR_NAMES.isdisjoint(code.co_names)


class DrawWatch:
    """The random generators a function being staged can reach, with their states when
    first seen."""

    def __init__(self, roots):
        self.watched = {}   # id(bit generator) -> (its name, the bit generator, fingerprint)
        self.outer = set()  # ids of the frames running when staging began (alive until it ends)
        frame = sys._getframe(1)
        while frame is not None:
            self.outer.add(id(frame))
            frame = frame.f_back
        self.add("numpy.random", np.random.mtrand._rand)
        for name, value in roots:
            self.add(name, value)

    def add(self, name, obj, seeded=False):
        """Watch ``obj`` if it is a generator; ``seeded``: compare with the state its seed
        gave it (a generator that may have been created while staging)."""
        bits = _bit_generator(obj)
        if bits is None or id(bits) in self.watched:
            return
        seed = getattr(bits, "seed_seq", None) if seeded else None
        start = _fingerprint(type(bits)(seed) if seed is not None else bits)
        self.watched[id(bits)] = (name, bits, start)

    def look_in(self, frame):
        """Watch the generators among the local variables of a user frame that began while
        staging, since they were seeded. (A frame that was running before reaches the
        function only through its closure, globals or arguments; and reading its locals
        would keep a snapshot of them, the example arrays among them, alive with it.)"""
        if id(frame) in self.outer or not _makes_generators(frame.f_code):
            return
        for name, value in frame.f_locals.items():
            if isinstance(value, (np.random.Generator, np.random.RandomState)):
                self.add(name, value, seeded=True)

    @contextlib.contextmanager
    def creations(self):
        """While staging, the generators ``np.random.default_rng`` creates in this thread
        are watched from their seeded state."""
        create, thread = np.random.default_rng, threading.get_ident()

        def default_rng(*args, **kwargs):
            rng = create(*args, **kwargs)
            if threading.get_ident() == thread:
                self.add("a generator made by numpy.random.default_rng", rng, seeded=True)
            return rng
        np.random.default_rng = default_rng
        try:
            yield
        finally:
            np.random.default_rng = create

    def drawn(self):
        """The name of a generator drawn from since it was first seen, or None."""
        for name, bits, start in self.watched.values():
            if _fingerprint(bits) != start:
                return name
        return None


def draw_message(name, where):
    return (f"a random draw from {name} while staging{where}: riesz.jit and riesz.trace "
            f"stage the function once, so the draw would be the same numbers in every call: "
            f"draw outside and pass the numbers in (an argument of the jitted function), or "
            f"run the function eagerly (without jit)")
