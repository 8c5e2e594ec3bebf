"""riesz.nn training: save/load round trips and their errors, the fit loop, the digits run."""
import numpy as np
import pytest

import riesz
from riesz import nn, optim


def blobs(n=240, seed=0):
    """Three Gaussian clusters in 2-D, labelled by cluster."""
    r = np.random.default_rng(seed)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = r.integers(0, 3, n)
    return centres[y] + 0.6 * r.standard_normal((n, 2)), y


def loss_fn(model, x, y, rng):
    return nn.softmax_cross_entropy(model(x, rng=rng), y)


def small_model(seed=0, dropout=0.1):
    """A Sequential MLP with Dropout (``dropout=0.0`` draws nothing)."""
    r = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(2, 16, rng=r), nn.tanh, nn.Dropout(dropout),
                         nn.Linear(16, 3, rng=r))


def trained(steps=3, seed=0):
    """A model and its AdamW state after a few steps staged by riesz.jit (so the moments
    are non-zero)."""
    model, opt = small_model(seed, dropout=0.0), optim.AdamW(1e-2)
    x, y = blobs()
    result = nn.fit(model, loss_fn, opt, (x, y), rng=np.random.default_rng(seed),
                    batch_size=32, max_steps=steps, progress=False)
    return result.model, result.opt_state


def assert_identical(a, b):
    la, ta = riesz.tree_flatten(a)
    lb, tb = riesz.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        assert type(x) is type(y)
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------ save / load


def test_model_and_optimizer_state_round_trip_bit_for_bit(tmp_path):
    model, state = trained()
    path = tmp_path / "checkpoint.npz"
    nn.save(path, {"model": model, "opt_state": state})
    template = {"model": small_model(1, dropout=0.0),
                "opt_state": optim.AdamW(1e-2).init(small_model(1, dropout=0.0))}
    loaded = nn.load(path, like=template)
    assert_identical(loaded, {"model": model, "opt_state": state})
    assert loaded["opt_state"].step == 3 and type(loaded["opt_state"].step) is np.int64
    # the names in the file say where each array belongs
    with np.load(path) as f:
        assert "model.layers.0.weight" in f.files and "opt_state.mean.layers.2.bias" in f.files


def test_any_parameter_name_round_trips(tmp_path):
    tree = {"file": np.arange(3.0), "allow_pickle": np.ones(2, np.float32), "n": 7}
    nn.save(tmp_path / "names.npz", tree)
    assert_identical(nn.load(tmp_path / "names.npz", like=tree), tree)


def test_module_save_and_load_methods_and_float32(tmp_path):
    model = nn.MLP([3, 5, 2], rng=np.random.default_rng(0), dtype=np.float32)
    model.save(tmp_path / "mlp.npz")
    fresh = nn.MLP([3, 5, 2], rng=np.random.default_rng(9), dtype=np.float32)
    assert_identical(fresh.load(tmp_path / "mlp.npz"), model)


def test_training_resumes_identically_from_a_checkpoint(tmp_path):
    """Save after 3 steps, load, and take the same steps as the uninterrupted run."""
    model, state = trained(steps=3)
    nn.save(tmp_path / "c.npz", (model, state))
    loaded_model, loaded_state = nn.load(tmp_path / "c.npz",
                                         like=(small_model(1, dropout=0.0), state))
    opt = optim.AdamW(1e-2)
    x, y = blobs()
    g = riesz.grad(loss_fn)(model, x[:32], y[:32], None)
    assert_identical(opt.update(model, g, state), opt.update(loaded_model, g, loaded_state))


def test_missing_parameter_is_named(tmp_path):
    model = nn.MLP([3, 5, 2], rng=np.random.default_rng(0))
    arrays = model.named_parameters()
    del arrays["layers.1.bias"]
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(nn.CheckpointError, match="'layers.1.bias' is missing"):
        model.load(tmp_path / "m.npz")


def test_mis_shaped_parameter_is_named(tmp_path):
    nn.MLP([3, 6, 2], rng=np.random.default_rng(0)).save(tmp_path / "m.npz")
    with pytest.raises(nn.CheckpointError,
                       match=r"'layers.0.weight' has shape \(3, 6\) in the file but \(3, 5\)"):
        nn.MLP([3, 5, 2], rng=np.random.default_rng(0)).load(tmp_path / "m.npz")


def test_wrong_dtype_extra_parameter_and_corrupt_file_are_errors(tmp_path):
    model = nn.MLP([3, 5, 2], rng=np.random.default_rng(0))
    nn.MLP([3, 5, 2], rng=np.random.default_rng(0), dtype=np.float32).save(tmp_path / "f32.npz")
    with pytest.raises(nn.CheckpointError, match="'layers.0.weight' has dtype float32"):
        model.load(tmp_path / "f32.npz")
    np.savez(tmp_path / "extra.npz", **model.named_parameters(), stray=np.zeros(2))
    with pytest.raises(nn.CheckpointError, match="unexpected parameter 'stray'"):
        model.load(tmp_path / "extra.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(nn.CheckpointError, match="cannot be read"):
        model.load(tmp_path / "junk.npz")


def test_loading_never_unpickles(tmp_path):
    model = nn.Linear(2, 2, rng=np.random.default_rng(0))
    params = model.named_parameters()
    params["weight"] = np.array([object()] * 4, dtype=object).reshape(2, 2)
    np.savez(tmp_path / "pickled.npz", **params)
    with pytest.raises(nn.CheckpointError, match="'weight' cannot be read without pickle"):
        model.load(tmp_path / "pickled.npz")


# ------------------------------------------------------------ fit


def test_fit_decreases_the_loss_deterministically(tmp_path):
    x, y = blobs()
    val = blobs(90, seed=1)

    def run():
        return nn.fit(small_model(), loss_fn, optim.Adam(0.02), (x, y),
                      rng=np.random.default_rng(3), epochs=6, batch_size=32, validation=val,
                      metrics={"accuracy": lambda m, x, y: nn.accuracy(m(x), y)},
                      eval_every=16, progress=False, jit=False)

    first, second = run(), run()
    assert_identical(first.model, second.model)
    h = first.history
    assert len(h["train_loss"]) == 6 * 8 and h["eval_step"] == [16, 32, 48]
    assert np.mean(h["train_loss"][-8:]) < 0.5 * np.mean(h["train_loss"][:8])
    assert h["val_loss"][-1] < h["val_loss"][0]
    assert h["val_accuracy"][-1] > 0.9


def test_fit_early_stopping_keeps_the_best_model():
    x, y = blobs()
    # a learning rate this large makes the validation loss climb after a few evaluations
    result = nn.fit(small_model(dropout=0.0), loss_fn, optim.SGD(3.0), (x, y),
                    rng=np.random.default_rng(0), epochs=50, batch_size=16,
                    validation=blobs(90, seed=1), eval_every=5, patience=3, progress=False)
    h = result.history
    assert len(h["eval_step"]) < 50 * 15 // 5          # it stopped early
    best = int(np.argmin(h["val_loss"]))
    assert best == len(h["val_loss"]) - 4              # three evaluations without improvement
    assert nn.evaluate(result.model, loss_fn, blobs(90, seed=1))["loss"] == pytest.approx(
        h["val_loss"][best])


def test_fit_progress_fallback_and_plot(tmp_path, capsys, hide_modules):
    hide_modules("tqdm")
    x, y = blobs(64)
    path = tmp_path / "curves.png"
    nn.fit(small_model(), loss_fn, optim.Adam(0.01), (x, y), rng=np.random.default_rng(0),
           epochs=2, batch_size=16, validation=blobs(32, 1), plot=path, jit=False)
    err = capsys.readouterr().err
    assert "[8/8] loss" in err and "val_loss" in err
    if _has("matplotlib"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "matplotlib is not installed" in err


def _has(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def test_fit_time_limit_stops_with_an_evaluation():
    result = nn.fit(small_model(), loss_fn, optim.SGD(0.1), blobs(), rng=np.random.default_rng(0),
                    epochs=100, validation=blobs(30, 1), max_seconds=0.0, progress=False,
                    jit=False)
    assert result.history["step"] == [1] and result.history["eval_step"] == [1]


def test_fit_rejects_bad_arguments():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        nn.fit(small_model(), loss_fn, optim.SGD(0.1), blobs(), rng=0)
    with pytest.raises(ValueError, match="3 inputs and 2 targets"):
        nn.fit(small_model(), loss_fn, optim.SGD(0.1), (np.zeros((3, 2)), np.zeros(2, int)),
               rng=np.random.default_rng(0))


def fit_both_ways(model, loss, **options):
    """``fit`` of a fresh ``model()`` with jit=True and with jit=False, same seed."""
    x, y = blobs(100)
    return [nn.fit(model(), loss, optim.Adam(optim.cosine_decay(0.05, 20)), (x, y),
                   rng=np.random.default_rng(5), epochs=5, batch_size=24, clip_norm=0.5,
                   progress=False, jit=jit, **options) for jit in (True, False)]


def test_fit_jitted_and_eager_train_the_same_model():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # it stages: no fallback warning
        staged, eager = fit_both_ways(lambda: small_model(dropout=0.0), loss_fn)
    assert_same_run(staged, eager)
    assert staged.opt_state.step == 25 and type(staged.opt_state.step) is np.int64


def assert_same_run(staged, eager):
    for a, b in zip(riesz.tree_leaves((staged.model, staged.opt_state)),
                    riesz.tree_leaves((eager.model, eager.opt_state))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(staged.history["train_loss"], eager.history["train_loss"],
                               rtol=1e-12)


class SpyGenerator(np.random.Generator):
    """A generator that keeps what ``random`` returned."""

    def __init__(self, seed):
        super().__init__(np.random.PCG64(seed))
        self.drawn = []

    def random(self, *args, **kwargs):
        out = super().random(*args, **kwargs)
        self.drawn.append(out)
        return out


def test_fit_stages_dropout_with_fresh_masks_every_step():
    """Dropout's draws are made ahead of each staged step with the real generator, so the
    staged run draws what the eager run draws: the same run, and a new mask every step."""
    import warnings
    x, y = blobs(100)
    runs, spies = [], []
    for jit in (True, False):
        spies.append(SpyGenerator(5))
        with warnings.catch_warnings():
            warnings.simplefilter("error")          # it stages: no fallback warning
            runs.append(nn.fit(small_model(dropout=0.5), loss_fn, optim.Adam(0.05), (x, y),
                               rng=spies[-1], epochs=5, batch_size=24, progress=False,
                               jit=jit))
    assert_same_run(*runs)
    staged_draws, eager_draws = (spy.drawn for spy in spies)
    assert len(staged_draws) == len(eager_draws) == 25       # one mask a step
    assert all(np.array_equal(a, b) for a, b in zip(staged_draws, eager_draws))
    full = [m for m in eager_draws if m.shape[0] == 24]
    assert not any(np.array_equal(full[0], m) for m in full[1:])


def test_fit_falls_back_when_the_loss_shuffles_in_place():
    def shuffling_loss(model, x, y, rng):
        order = np.arange(len(y))
        rng.shuffle(order)                              # in place: no draw ahead of the step
        return nn.softmax_cross_entropy(model(x[order]), y[order])
    with pytest.warns(RuntimeWarning, match=r"rng.shuffle") as record:
        staged, eager = fit_both_ways(lambda: small_model(dropout=0.0), shuffling_loss)
    assert len(record) == 1 and "jit=False" in str(record[0].message)
    assert_identical(staged.model, eager.model)
    assert staged.history["train_loss"] == eager.history["train_loss"]


def test_fit_falls_back_when_the_loss_branches_on_values():
    def loss_with_branch(model, x, y):
        loss = nn.softmax_cross_entropy(model(x), y)
        return loss if loss < 100 else 0.0 * loss
    with pytest.warns(RuntimeWarning, match=r"because bool\(\) \(an if, while"):
        staged, eager = fit_both_ways(lambda: nn.MLP([2, 8, 3], rng=np.random.default_rng(0)),
                                      loss_with_branch)
    assert_identical(staged.model, eager.model)


# ------------------------------------------------------------ the digits example


def test_digits_example_reaches_97_percent_deterministically(tmp_path):
    pytest.importorskip("sklearn")
    from riesz.examples import digits, one_blas_thread
    with one_blas_thread():
        model, history, accuracy = digits.train(seed=0, progress=False)
        short, _, _ = digits.train(seed=0, epochs=2, progress=False)
        again, _, _ = digits.train(seed=0, epochs=2, progress=False)
    assert accuracy >= 0.97
    assert history["val_accuracy"][-1] == accuracy
    assert_identical(short, again)      # the seed fixes the run bit for bit


def test_charlm_pieces_train_and_sample():
    """A tiny version of the charlm example: its loss falls within a few dozen steps."""
    from scipy import stats
    from riesz.examples import charlm
    ids = charlm.encode(charlm.stdlib_text(20_000))
    assert charlm.decode(charlm.encode("def f(x):\n\treturn")) == "def f(x):\n?return"
    p = np.bincount(ids) / len(ids)
    assert charlm.unigram_entropy(ids) == pytest.approx(stats.entropy(p[p > 0]))
    x, y = charlm.windows(ids, 16, stride=8)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])          # targets: the next characters
    rng = np.random.default_rng(0)
    model = charlm.CharTransformer(16, dim=16, heads=2, layers=1, rng=rng)
    result = nn.fit(model, charlm.loss_fn, optim.Adam(1e-2), (x, y), rng=rng, max_steps=40,
                    batch_size=16, validation=(x[:64], y[:64]), eval_every=20, progress=False)
    first = nn.evaluate(model, charlm.loss_fn, (x[:64], y[:64]))["loss"]
    assert result.history["val_loss"][-1] < first - 0.5
    text = charlm.sample(result.model, "def ", 20, 16, rng)
    assert text.startswith("def ") and len(text) == 24


def test_staged_steps_keep_the_state_flat_and_rebuild_it_on_demand():
    from riesz.nn.training import _StagedSteps, _Steps, _training_step
    x, y = blobs(48)
    opt = optim.SGD(0.1, momentum=0.9)
    step = _training_step(lambda m, x, y, rng: nn.softmax_cross_entropy(m(x), y), opt, None)
    model = small_model(dropout=0.0)
    staged, eager = _StagedSteps(step, model, opt.init(model)), _Steps(step, model,
                                                                      opt.init(model))
    rng = np.random.default_rng(0)
    losses = [(staged(x, y, rng), eager(x, y, rng)) for _ in range(4)]
    (calls, flat), = staged.programs.values()
    assert flat is not None and staged._leaves is not None   # the state stayed flat
    np.testing.assert_allclose(*zip(*losses), rtol=1e-12)
    assert_same_run(nn.training.FitResult(staged.model, staged.opt_state, {"train_loss": []}),
                    nn.training.FitResult(eager.model, eager.opt_state, {"train_loss": []}))
    assert staged._leaves is None and type(staged.model) is nn.Sequential


class PromotingSGD(optim.SGD):
    """An optimizer whose update turns float32 parameters into float64 ones."""

    def update(self, params, grads, state):
        params, state = super().update(params, grads, state)
        return riesz.tree_map(lambda p: p.astype(np.float64), params), state


def test_fit_whose_update_changes_dtypes_still_stages_correctly():
    x, y = blobs(60)
    runs = [nn.fit(nn.MLP([2, 8, 3], rng=np.random.default_rng(0), dtype=np.float32),
                   lambda m, x, y: nn.softmax_cross_entropy(m(x), y), PromotingSGD(0.1),
                   (x.astype(np.float32), y), rng=np.random.default_rng(1), epochs=3,
                   batch_size=20, progress=False, jit=jit) for jit in (True, False)]
    assert runs[0].model.layers[0].weight.dtype == np.float64
    assert_same_run(*runs)


def test_metrics_of_predictions_get_the_model_output():
    x, y = blobs(60)
    model = small_model(dropout=0.0)
    scores = nn.evaluate(model, loss_fn, (x, y), metrics={
        "accuracy": nn.accuracy,
        "by_model": lambda m, x, y: nn.accuracy(m(x), y)})
    assert scores["accuracy"] == scores["by_model"] == nn.accuracy(model(x), y)
