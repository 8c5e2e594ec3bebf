"""A ``fit`` loop: minibatch training with a progress bar, periodic evaluation, early
stopping and a PNG plot of the loss and metric curves.

The training step (``value_and_grad`` of the loss, optional clipping, the optimizer's
update) is staged once per batch shape by :func:`riesz.jit` and run as generated
NumPy code. Random draws of the loss (Dropout) are made ahead of each step with the
calls a trial step made, and passed to the program, so no draw is ever frozen into
it (see :class:`_StagedStep`).

tqdm (for the progress bar) and matplotlib (for the plot) are optional extras:
without tqdm a plain progress line is printed; without matplotlib the plot is
skipped with a note.
"""
import copy
import inspect
import os
import sys
import time
import warnings
from collections import namedtuple
from typing import Any, Callable, Mapping, Optional, Union

import numpy as np

from .. import value_and_grad
from ..optim.optimizers import clip_by_global_norm
from .parallel import data_parallel_value_and_grad
from ..staging import ConcretizationError, Var, jit as stage
from ..staging.tracer import user_frame
from ..tree import tree_flatten, tree_unflatten
from .serialization import CheckpointError, load, save, stored_shapes

__all__ = ["fit", "evaluate", "plot_history", "FitResult"]

class FitResult(namedtuple("FitResult", ["model", "opt_state", "history"])):
    """What :func:`fit` returns: ``(model, opt_state, history)``, unpacked as a tuple of
    three, with two attributes: ``interrupted`` (True when a KeyboardInterrupt ended the
    run; the model is the one after the last completed step) and ``plot`` (the PNG path
    that was written, or None)."""
    interrupted: bool
    plot: "str | os.PathLike[str] | None"

    def __new__(cls, model: Any, opt_state: Any, history: "dict[str, list[Any]]",
                interrupted: bool = False, plot: "str | os.PathLike[str] | None" = None
                ) -> "FitResult":
        result = super().__new__(cls, model, opt_state, history)
        result.interrupted, result.plot = interrupted, plot
        return result


def _warn(message: str, category: "type[Warning]" = RuntimeWarning) -> None:
    """A warning attributed to the user's line that called into riesz (as ``stacklevel``
    would, counted through however many of riesz's frames lie between)."""
    frame = user_frame()
    if frame is None:
        warnings.warn(message, category, stacklevel=2)
        return
    warnings.warn_explicit(message, category, frame.f_code.co_filename, frame.f_lineno,
                           module=frame.f_globals.get("__name__", "<unknown>"),
                           registry=frame.f_globals.setdefault("__warningregistry__", {}),
                           module_globals=frame.f_globals)


def _loss_with_rng(loss_fn):
    """``loss_fn`` as a function of (model, x, y, rng): the generator is passed on when
    ``loss_fn`` takes a fourth argument, and left out when it takes (model, x, y) only."""
    signature = _signature(loss_fn)
    if signature is None or _binds(signature, 4):   # no signature: assume the documented four
        return loss_fn
    return lambda model, x, y, rng: loss_fn(model, x, y)


def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _binds(signature, count):
    """Whether a function of ``signature`` takes ``count`` positional arguments."""
    try:
        signature.bind(*[None] * count)
    except TypeError:
        return False
    return True


class _NotReplayable(RuntimeError):
    """The loss's random draws cannot be drawn ahead of the step and fed to a program."""


# Generator methods that return their draw (in-place ones, shuffle and permuted, and
# spawn, which makes generators, are not replayable)
_DRAWS = frozenset(name for name in dir(np.random.Generator)
                   if not name.startswith("_") and name not in ("shuffle", "permuted", "spawn",
                                                                "bit_generator"))


def _plain(value):
    """Whether a draw's argument is a plain value (a number, a string, an array, ...),
    which the same call ahead of a later step can repeat."""
    if isinstance(value, (tuple, list)):
        return all(map(_plain, value))
    return value is None or isinstance(value, (bool, int, float, complex, str, np.ndarray,
                                               np.generic, np.dtype, type))


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


class _RecordingGenerator(np.random.Generator):
    """The real generator, during the first (eager) step of a batch shape: each draw is
    made and returned as usual, and its call (method and arguments) is recorded, so that
    the later steps can make the same draws ahead of the staged program."""

    def __init__(self, rng):
        super().__init__(np.random.PCG64(0))
        object.__setattr__(self, "_rng", rng)
        object.__setattr__(self, "calls", [])

    def __getattribute__(self, name):
        if name.startswith("__") or name in ("_rng", "calls"):
            return object.__getattribute__(self, name)
        rng, calls = object.__getattribute__(self, "_rng"), object.__getattribute__(self, "calls")
        if name not in _DRAWS:
            calls.append(_NotReplayable(f"loss_fn uses rng.{name}, which is not a draw that "
                                        f"can be made ahead of the step"))
            return getattr(rng, name)
        method = getattr(rng, name)

        def draw(*args, **kwargs):
            if not (_plain(args) and _plain(list(kwargs.values()))):
                calls.append(_NotReplayable(f"loss_fn draws with rng.{name} from arguments "
                                            f"that are not plain values (numbers, strings, "
                                            f"arrays), which a draw ahead of the step cannot "
                                            f"repeat"))
            else:
                calls.append((name, args, kwargs))
            return method(*args, **kwargs)
        return draw


class _ReplayingGenerator(np.random.Generator):
    """The generator the staged step gets: each draw returns the next of ``draws`` (made
    ahead of the step by the real generator, with the recorded calls), after checking that
    the call is the recorded one. The draws are arguments of the program, so every step
    gets fresh ones."""

    def __init__(self, calls, draws):
        super().__init__(np.random.PCG64(0))
        object.__setattr__(self, "_queue", list(zip(calls, draws)))

    def __getattribute__(self, name):
        if name.startswith("__"):
            return object.__getattribute__(self, name)
        queue = object.__getattribute__(self, "_queue")

        def draw(*args, **kwargs):
            if not queue or not _same(queue[0][0], (name, args, kwargs)):
                raise _NotReplayable(f"loss_fn's draws from rng (rng.{name}) differ from "
                                     f"those of its first step")
            return queue.pop(0)[1]
        return draw


def _training_step(loss_fn, optimizer, clip_norm, loss_and_grads=None):
    """``step(model, opt_state, x, y, rng) -> (loss, model, opt_state)``: the loss and
    its gradient (by ``loss_and_grads``, riesz.value_and_grad by default), the gradient
    clipped to ``clip_norm`` (if given), the update."""
    loss_and_grads = loss_and_grads or value_and_grad(loss_fn)

    def step(model, opt_state, x, y, rng):
        loss, grads = loss_and_grads(model, x, y, rng)
        if clip_norm is not None:
            grads, _ = clip_by_global_norm(grads, clip_norm)
        model, opt_state = optimizer.update(model, grads, opt_state)
        return loss, model, opt_state
    return step


class _Draws(tuple):
    """The recorded draws of one batch shape, ``((method, args, kwargs), ...)``: a static
    argument of the staged step, so it hashes by identity (its arguments may be arrays)."""
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other


class _Steps:
    """The training run's state (the model and the optimizer's state) and its step:
    ``steps(x, y, rng)`` takes one step and returns the loss. Run eagerly."""

    def __init__(self, step, model, opt_state):
        self.eager = step
        self.model, self.opt_state = model, opt_state

    def __call__(self, x, y, rng):
        loss, self.model, self.opt_state = self.eager(self.model, self.opt_state, x, y, rng)
        return loss

    def restore(self, model, opt_state):
        """Go back to an earlier model and state (early stopping keeps the best)."""
        self.model, self.opt_state = model, opt_state


class _StagedSteps(_Steps):
    """Training steps run by :func:`riesz.jit` (one program per batch shape).

    Random draws (Dropout) become arguments of the program. Before the first step of each
    batch shape, an eager step on a copy of ``rng`` records the loss's calls of ``rng``
    and the program is staged; every step makes the same calls on ``rng`` ahead of the
    program, in the same order, so the run draws exactly the numbers an eager run draws. When the step cannot
    be staged (the loss branches on values, :class:`riesz.ConcretizationError`, or its
    draws cannot be made ahead) the rest of the run is eager, after one warning.

    Between staged steps the model and the optimizer state stay flattened: the program's
    outputs are its next inputs, and the objects are rebuilt only when asked for
    (evaluation, the end of the run), which saves two pytree conversions a step."""

    def __init__(self, step, model, opt_state):
        def training_step(model, opt_state, x, y, calls, draws):
            return step(model, opt_state, x, y, _ReplayingGenerator(calls, draws))
        self.staged = stage(training_step, static_argnums=(4,))
        self.eager = step
        self.programs = {}   # the batch's shapes and dtypes -> (recorded draws, flat step)
        self.fell_back = False
        self._objects = (model, opt_state)
        self._leaves = self._tree = None   # the state's leaves while it is flat

    @property
    def model(self):
        return self._state()[0]

    @property
    def opt_state(self):
        return self._state()[1]

    def restore(self, model, opt_state):
        self._objects, self._leaves = (model, opt_state), None

    def _state(self):
        if self._leaves is not None:   # rebuild the objects from the leaves
            self._objects = tree_unflatten(self._tree, self._leaves)
            self._leaves = None
        return self._objects

    def __call__(self, x, y, rng):
        key = tuple((np.shape(a), np.result_type(a)) for a in (x, y))
        if not self.fell_back and key not in self.programs:
            self._stage(key, x, y, rng)
        if self.fell_back:
            loss, *self._objects = self.eager(*self._state(), x, y, rng)
            return loss
        calls, flat = self.programs[key]
        draws = tuple(getattr(rng, name)(*args, **kwargs) for name, args, kwargs in calls)
        if flat is None:
            loss, *self._objects = self.staged(*self._state(), x, y, calls, draws)
            return loss
        if self._leaves is None:
            self._leaves, self._tree = tree_flatten(self._objects)
        out = flat(*self._leaves, x, y, *draws)
        self._leaves = list(out[1:])
        return out[0]

    def _stage(self, key, x, y, rng):
        """Stage the step for this batch shape: one eager step on a copy of ``rng`` records
        the loss's draws (its result is dropped), and the program is staged on them. Every
        step, the first included, then runs the program, so a run resumed from a checkpoint
        computes what the uninterrupted run computes, bit for bit. A failure falls back to
        eager steps before ``rng`` is used."""
        recorder = _RecordingGenerator(copy.deepcopy(rng))
        model, opt_state = self._state()
        try:
            self.eager(model, opt_state, x, y, recorder)
            for call in recorder.calls:
                if isinstance(call, _NotReplayable):
                    raise call
            calls = _Draws(recorder.calls)
            spare = copy.deepcopy(rng)
            draws = tuple(getattr(spare, name)(*args, **kwargs) for name, args, kwargs in calls)
            program = self.staged.lower(model, opt_state, x, y, calls, draws)
        except (_NotReplayable, ConcretizationError) as error:
            self.fell_back = True
            _warn(f"fit runs the training step eagerly: it cannot be staged by riesz.jit, "
                  f"because {error}. Pass jit=False to train eagerly without this warning")
            return
        self.programs[key] = (calls, _flat_step(program))


def _flat_step(program):
    """The program's compiled function when its outputs after the loss are its first
    inputs again (the same structure, shapes and dtypes), so that a step's results feed
    the next step as they are; None otherwise (a model whose dtype the optimizer changes)."""
    if program is None:
        return None
    state = program.in_tree.children[:2]
    count = sum(tree.num_leaves for tree in state)
    same = (tuple(program.out_tree.children[1:]) == tuple(state) and all(
        isinstance(o, Var) and o.type_str() == v.type_str()
        for o, v in zip(program.outputs[1:], program.invars[:count])))
    return program.compiled() if same and len(program.outputs) == count + 1 else None


def _metric_of_model(metric):
    """``metric`` as a function of (model, x, y): a metric of (predictions, y), such as
    :func:`riesz.nn.accuracy`, gets ``model(x)``."""
    signature = _signature(metric)
    if signature is None or _binds(signature, 3) or not _binds(signature, 2):
        return metric
    return lambda model, x, y: metric(model(x), y)


def evaluate(model: Any, loss_fn: Callable[..., Any], data: "tuple[Any, Any]",
             metrics: "Optional[Mapping[str, Callable[..., Any]]]" = None,
             batch_size: int = 256) -> "dict[str, float]":
    """``{"loss": ..., metric: ...}`` over ``data`` = (x, y), in batches, without dropout
    (``loss_fn`` gets ``rng=None``); each value is the example-weighted mean over the
    batches, so ``loss_fn`` and the metrics should return means. A metric is
    ``fn(model, x, y)``, or ``fn(predictions, y)`` (``nn.accuracy``), which then gets
    ``model(x)``."""
    loss_fn = _loss_with_rng(loss_fn)
    metrics = {name: _metric_of_model(metric) for name, metric in (metrics or {}).items()}
    x, y = data
    n = len(x)
    totals: "dict[str, float]" = {}
    for start in range(0, n, batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        values = {"loss": float(loss_fn(model, xb, yb, None))}
        for name, metric in metrics.items():
            values[name] = float(metric(model, xb, yb))
        for name, value in values.items():
            totals[name] = totals.get(name, 0.0) + value * len(xb)
    return {name: total / n for name, total in totals.items()}


def fit(model: Any, loss_fn: Callable[..., Any], optimizer: Any, train: "tuple[Any, Any]", *,
        rng: np.random.Generator, epochs: int = 1, batch_size: int = 32,
        validation: "Optional[tuple[Any, Any]]" = None,
        metrics: "Optional[Mapping[str, Callable[..., Any]]]" = None,
        eval_every: Optional[int] = None, patience: Optional[int] = None,
        clip_norm: Optional[float] = None, max_steps: Optional[int] = None,
        max_seconds: Optional[float] = None, opt_state: Any = None, progress: bool = True,
        plot: "Union[str, os.PathLike[str], None]" = None, eval_batch_size: int = 256,
        jit: bool = True, checkpoint: "Union[str, os.PathLike[str], None]" = None,
        every: Optional[int] = None) -> FitResult:
    """Train ``model`` by minibatch gradient steps; returns ``FitResult(model, opt_state,
    history)``.

    * ``loss_fn(model, x, y, rng)`` returns the mean loss of a batch; ``rng`` is a
      ``numpy.random.Generator`` for dropout during training and None in evaluation.
      A ``loss_fn(model, x, y)`` without it works too (no dropout).
    * ``train`` and ``validation`` are (inputs, targets) pairs of arrays (NumPy's for
      ``train`` with ``jit=True``: another library's raise before the first step); ``rng`` also
      shuffles the training set each epoch, so a seed fixes the whole run. ``train`` may be
      a :class:`riesz.nn.DataParallel` (rows held by ``dask.distributed`` workers): each
      step's gradient is then computed there, shard by shard, and summed.
    * ``metrics``: ``{name: fn(model, x, y) -> float}`` reported on the validation set
      (or ``fn(predictions, y)``, such as ``nn.accuracy``, given ``model(x)``).
    * every ``eval_every`` steps (default: once an epoch) the validation set is
      evaluated; with ``patience`` training stops after that many evaluations without
      a lower validation loss, and the best model is returned.
    * ``clip_norm`` clips each gradient to that global norm; ``max_steps`` caps the
      steps and ``max_seconds`` the training time (the run then ends with an evaluation;
      a time limit makes the number of steps depend on the machine).
    * ``progress`` shows a progress bar (tqdm if installed, else plain lines); the bar,
      the evaluation lines and the notes all go to ``sys.stderr``. ``plot`` is a PNG
      path for :func:`plot_history` (its directory, like ``checkpoint``'s, must exist:
      that is checked before the first step); ``result.plot`` is the path, or None when nothing
      was written (no matplotlib).
    * ``checkpoint=path, every=N`` saves the run's whole state (model, optimizer state,
      step, the generator's state, the epoch's shuffle, the history, early stopping's
      best model) to ``path`` every N steps (default: every evaluation, else every epoch)
      with :func:`riesz.nn.save`, atomically. When ``path`` exists, ``fit`` resumes from
      it: called again with the same arguments and a fresh ``model``, ``rng`` and
      ``opt_state``, the run continues bit for bit as if it had never stopped.
    * Ctrl-C (KeyboardInterrupt) ends the run and returns what it reached, with
      ``result.interrupted`` True; rerunning with ``checkpoint=`` resumes from the
      last checkpoint.
    * ``jit=True`` stages the training step (loss, gradient, clipping, update) with
      :func:`riesz.jit` and runs the generated NumPy code, the same arithmetic as the
      eager step. Draws from ``rng`` (Dropout) are made ahead of each step and passed to
      the program (the eager run's numbers). A loss that branches on values, or uses
      ``rng`` other than for draws (``shuffle``, in place), cannot be staged: the run
      then falls back to the eager step with a warning (``jit=False`` trains eagerly
      from the start, without it).

    ``history`` holds ``step`` and ``train_loss`` per step and ``eval_step``,
    ``val_loss`` and ``val_<metric>`` per evaluation.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError("fit: rng must be a numpy.random.Generator, e.g. np.random.default_rng(0)")
    x, y = train
    n = len(x)
    if n == 0 or len(y) != n:
        raise ValueError(f"fit: train has {n} inputs and {len(y)} targets; it needs the same "
                         f"positive number of each")
    steps_per_epoch = max(1, -(-n // batch_size))
    total = epochs * steps_per_epoch if max_steps is None else min(max_steps,
                                                                    epochs * steps_per_epoch)
    eval_every = eval_every or steps_per_epoch
    every = every or eval_every
    opt_state = optimizer.init(model) if opt_state is None else opt_state
    with_rng = _loss_with_rng(loss_fn)
    if with_rng is not loss_fn and getattr(model, "stochastic", False):
        _warn("fit: the model has stochastic layers (Dropout) but loss_fn takes "
              "(model, x, y) only, so they get no random generator and stay off; "
              "define loss_fn(model, x, y, rng) and call model(x, rng=rng)", UserWarning)
    for argument, path in (("checkpoint", checkpoint), ("plot", plot)):
        _check_directory(argument, path)   # before training, not after it
    names = ["loss"] + (list(metrics or {}) if validation is not None else [])
    run = _Run(model, opt_state, names, n, patience is not None)
    if checkpoint is not None and os.path.exists(checkpoint):
        run.resume(checkpoint, rng)
        if run.stopped:   # early stopping ended that run: it is finished
            total = run.step
    # a DataParallel training set: each step's gradient is computed on its workers, eagerly
    parallel = data_parallel_value_and_grad(train, with_rng)
    if jit and parallel is None:
        for what, data in (("inputs", x), ("targets", y)):
            if not isinstance(data, np.ndarray):   # before the first step: a type test
                raise TypeError(
                    f"fit: the training {what} are a {type(data).__module__}."
                    f"{type(data).__qualname__}, and jit=True stages the step as a NumPy "
                    f"program. Pass NumPy arrays (x.compute() for a Dask array that fits in "
                    f"memory), nn.DataParallel(client, x, y) for rows held by dask.distributed "
                    f"workers, or jit=False to train eagerly on these arrays")
    steps = (_StagedSteps if jit and parallel is None else _Steps)(
        _training_step(with_rng, optimizer, clip_norm, parallel), run.model, run.opt_state)
    history = run.history
    bar = _progress_bar(total, progress, done=run.step)
    start = time.perf_counter()
    interrupted = False
    try:
        while run.step < total:
            first = run.step % steps_per_epoch * batch_size
            if first == 0:
                run.order = rng.permutation(n)
            idx = run.order[first:first + batch_size]
            loss = steps(x[idx], y[idx], rng)
            run.step += 1
            step = run.step
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                total = step
            history["step"].append(step)
            history["train_loss"].append(float(loss))
            bar.advance(float(loss))
            if validation is not None and (step % eval_every == 0 or step == total):
                scores = evaluate(steps.model, loss_fn, validation, metrics, eval_batch_size)
                history["eval_step"].append(step)
                for name, value in scores.items():
                    history[f"val_{name}"].append(value)
                bar.note(f"step {step}: " + "  ".join(f"val_{k} {v:.4f}"
                                                      for k, v in scores.items())
                         + f"  ({time.perf_counter() - start:.1f} s)")
                if scores["loss"] < run.best[0]:
                    run.best, run.stale = (scores["loss"], steps.model, steps.opt_state), 0
                else:
                    run.stale += 1
                if patience is not None and run.stale >= patience:
                    bar.note(f"early stop at step {step}: no better validation loss in "
                             f"{patience} evaluations; keeping step "
                             f"{history['eval_step'][int(np.argmin(history['val_loss']))]}")
                    steps.restore(run.best[1], run.best[2])
                    total, run.stopped = step, True
            if checkpoint is not None and (step % every == 0 or step == total):
                run.model, run.opt_state = steps.model, steps.opt_state
                run.save(checkpoint, rng)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    if interrupted:   # said even with progress=False: the run did not do what was asked
        print(f"riesz.nn.fit: interrupted after step {run.step}" + (
            f"; rerun the same fit to resume from {os.fspath(checkpoint)}"
            if checkpoint is not None else ""), file=sys.stderr, flush=True)
    written = plot_history(history, plot) if plot is not None else None
    return FitResult(steps.model, steps.opt_state, history, interrupted, written)


def _check_directory(argument, path):
    """A FileNotFoundError, raised before any step, where ``path``'s directory is missing:
    the file is written during or after the run, whose work would then be lost."""
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"fit: the directory of {argument}={os.fspath(path)!r} does "
                                f"not exist ({directory!r}); create it first (os.makedirs)")


class _Run:
    """The state of a ``fit`` run that a checkpoint holds: the model and optimizer state
    (at the last checkpoint), the step, whether early stopping ended the run, the epoch's
    shuffle, the history, and early stopping's best model (``keep_best``).

    The fresh run is the checkpoint's template, with the history's lengths read from the
    file's headers (a resumed run may go on for more epochs than the first one planned).
    The generator's state (a dict of Python ints up to 128 bits, strings and arrays) is
    stored with each int as 32 bytes."""

    _DTYPES = {"train_loss": np.float64, "eval_step": np.int64}   # val_*: float64

    def __init__(self, model, opt_state, names, n, keep_best):
        self.model, self.opt_state = model, opt_state
        self.keep_best = keep_best
        self.step, self.stale, self.stopped = 0, 0, False
        self.order = np.arange(n)
        self.history = {"step": [], "train_loss": [], "eval_step": [],
                        **{f"val_{name}": [] for name in names}}
        self.best = (np.inf, model, opt_state)

    def _tree(self, rng, history):
        tree = {"model": self.model, "opt_state": self.opt_state, "step": self.step,
                "stopped": self.stopped, "order": self.order, "history": history,
                "rng": _encode_state(rng.bit_generator.state)}
        if self.keep_best:
            tree["best"] = {"loss": float(self.best[0]), "model": self.best[1],
                            "opt_state": self.best[2], "stale": self.stale}
        return tree

    def save(self, path, rng):
        save(path, self._tree(rng, {key: np.array(values, self._DTYPES.get(key, np.float64))
                                    for key, values in self.history.items() if key != "step"}))

    def resume(self, path, rng):
        try:
            shapes = stored_shapes(path)
            tree = load(path, like=self._tree(rng, {
                key: np.zeros(shapes.get(f"history.{key}", ((0,),))[0],
                              self._DTYPES.get(key, np.float64))
                for key in self.history if key != "step"}))
        except CheckpointError as e:
            raise CheckpointError(f"fit: cannot resume from checkpoint={os.fspath(path)!r}, "
                                  f"which another run wrote (a different model, optimizer, "
                                  f"data or metrics): {e}. Pass another path, or delete the "
                                  f"file to start afresh") from e
        self.model, self.opt_state = tree["model"], tree["opt_state"]
        self.step, self.order, self.stopped = tree["step"], tree["order"], tree["stopped"]
        self.history = {"step": list(range(1, self.step + 1)),
                        **{key: values.tolist() for key, values in tree["history"].items()}}
        rng.bit_generator.state = _decode_state(tree["rng"], rng.bit_generator.state)
        if self.keep_best:
            best = tree["best"]
            self.best, self.stale = (best["loss"], best["model"], best["opt_state"]), best["stale"]


def _encode_state(state):
    """A bit generator's state (``rng.bit_generator.state``: a dict of Python ints up to
    128 bits, strings and arrays) as a dict of arrays: each int as 32 little-endian bytes."""
    return {key: _encode_state(value) if isinstance(value, dict) else _encode_value(value)
            for key, value in state.items()}


def _encode_value(value):
    if isinstance(value, int):
        return np.frombuffer(value.to_bytes(32, "little"), np.uint8).copy()
    return np.array(value)


def _decode_state(stored, like):
    """The state that :func:`_encode_state` encoded, with ``like``'s types."""
    return {key: _decode_state(stored[key], value) if isinstance(value, dict)
            else int.from_bytes(stored[key].tobytes(), "little") if isinstance(value, int)
            else type(value)(stored[key][()]) if isinstance(value, str)
            else stored[key] for key, value in like.items()}


# ------------------------------------------------------------ progress


def _progress_bar(total, enabled, done=0):
    """The progress display, on ``sys.stderr`` (tqdm's bar and its notes, or plain lines)."""
    if not enabled:
        return _Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _PlainProgress(total, done)
    return _TqdmProgress(tqdm(total=total, initial=done, unit="step", dynamic_ncols=True,
                              file=sys.stderr))


class _Silent:
    def advance(self, loss):
        pass

    def note(self, text):
        pass

    def close(self):
        pass


class _TqdmProgress(_Silent):
    def __init__(self, bar):
        self.bar = bar
        self.smoothed = None

    def advance(self, loss):
        self.smoothed = loss if self.smoothed is None else 0.95 * self.smoothed + 0.05 * loss
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{self.smoothed:.4f}", refresh=False)

    def note(self, text):
        self.bar.write(text, file=sys.stderr)

    def close(self):
        self.bar.close()


class _PlainProgress(_Silent):
    """Without tqdm: a line every 5% of the steps (pip install tqdm for a bar)."""

    def __init__(self, total, done):
        self.total, self.done = total, done
        self.every = max(1, total // 20)
        self.smoothed = None
        self.start = time.perf_counter()

    def advance(self, loss):
        self.done += 1
        self.smoothed = loss if self.smoothed is None else 0.95 * self.smoothed + 0.05 * loss
        if self.done % self.every == 0 or self.done == self.total:
            elapsed = time.perf_counter() - self.start
            print(f"[{self.done:>{len(str(self.total))}}/{self.total}] loss "
                  f"{self.smoothed:.4f}  {elapsed:.1f} s", file=sys.stderr, flush=True)

    def note(self, text):
        print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------ plot


def plot_history(history: "Mapping[str, Any]", path: "Union[str, os.PathLike[str]]",
                 reference_losses: "Optional[Mapping[str, float]]" = None
                 ) -> "Union[str, os.PathLike[str], None]":
    """Save the training and validation loss (left; on a log axis, or a linear one where a
    loss is zero or negative) and the validation metrics (right) as a PNG at ``path``;
    ``reference_losses`` ({label: value}) draws horizontal lines on the loss plot (a
    baseline to beat). Returns the path, or None (with a note on
    ``sys.stderr``) without matplotlib.

    The plot is drawn on a ``matplotlib.figure.Figure`` of its own, so matplotlib's
    global state (its backend, pyplot's current figure) is left as it was."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print(f"riesz.nn: matplotlib is not installed, so no plot was written to {path} "
              f"(pip install matplotlib)", file=sys.stderr)
        return None
    metric_names = [k for k in history if k.startswith("val_") and k != "val_loss"]
    fig = Figure(figsize=(11 if metric_names else 6, 4))
    axes = fig.subplots(1, 2 if metric_names else 1, squeeze=False)
    ax = axes[0, 0]
    steps, losses = np.asarray(history["step"]), np.asarray(history["train_loss"])
    ax.plot(steps, losses, alpha=0.3, color="C0", label="train (per step)")
    if len(losses) >= 10:
        window = max(1, len(losses) // 50)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, color="C0", label=f"train (mean of {window})")
    if history["val_loss"]:
        ax.plot(history["eval_step"], history["val_loss"], "o-", color="C1", label="validation")
    for k, (label, value) in enumerate((reference_losses or {}).items()):
        ax.axhline(value, linestyle="--", color=f"C{k + 2}", label=label)
    # a log axis shows losses that fall by orders of magnitude; one that reaches zero or
    # below (a negative log-likelihood, a loss minus its floor) gets a linear axis
    drawn = np.concatenate([losses, np.asarray(history["val_loss"], dtype=float),
                            list((reference_losses or {}).values())])
    scale = "log" if drawn.size and np.min(drawn) > 0 else "linear"
    ax.set(xlabel="step", ylabel="loss", yscale=scale, title="loss")
    ax.legend()
    for name in metric_names:
        axes[0, 1].plot(history["eval_step"], history[name], "o-", label=name)
    if metric_names:
        axes[0, 1].set(xlabel="step", title="validation metrics")
        axes[0, 1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
