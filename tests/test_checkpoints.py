"""Checkpoints that never lose work (issue 14): atomic saves, loads that check every header
before reading data, and their fault tests (a failing save, a full disk, a zip bomb, a
damaged member)."""
import os
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile

import numpy as np
import pytest

import riesz
from riesz import nn, optim
from test_nn_training import blobs, loss_fn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def model(seed=0):
    return nn.MLP([3, 5, 2], rng=np.random.default_rng(seed))


def assert_same_model(a, b):
    for x, y in zip(riesz.tree_leaves(a), riesz.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)


def test_a_failing_save_keeps_the_old_checkpoint(tmp_path):
    path = tmp_path / "c.npz"
    old = model(0)
    nn.save(path, old)
    before = path.read_bytes()
    with pytest.raises(nn.CheckpointError, match=r"cannot save leaf 'extra' of type object: it is not an array"):
        nn.save(path, {"model": model(1), "extra": object()})
    assert path.read_bytes() == before
    assert_same_model(model(5).load(path), old)
    assert os.listdir(tmp_path) == ["c.npz"]          # no temporary file left behind


def test_colliding_dotted_names_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    with pytest.raises(nn.CheckpointError, match=r"two leaves .* dotted name 'a.b'"):
        nn.save(path, {"a.b": np.zeros(2), "a": {"b": np.ones(2)}})
    assert not path.exists()


def test_a_full_disk_keeps_the_old_checkpoint(tmp_path):
    """A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored so the write fails with EFBIG) in a
    subprocess: the save fails with OSError, the old file is untouched and no temporary
    file is left."""
    pytest.importorskip("resource")
    path = tmp_path / "c.npz"
    old = model(0)
    nn.save(path, old)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import resource, signal, numpy as np
        from riesz import nn
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
        try:
            nn.save({str(path)!r}, {{"big": np.zeros(1 << 20)}})   # 8 MiB > 64 KiB
        except OSError as e:
            print("OSError", e.errno)
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.stdout.startswith("OSError"), out.stdout + out.stderr
    assert path.read_bytes() == before
    assert_same_model(model(5).load(path), old)
    assert os.listdir(tmp_path) == ["c.npz"]


def test_save_replaces_the_file_and_keeps_the_umask_mode(tmp_path):
    path = tmp_path / "c.npz"
    nn.save(path, model(0))
    nn.save(path, model(1))
    assert_same_model(model(5).load(path), model(1))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def _write_npz(path, header_shape, dtype, payload_bytes, compress=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compress, compresslevel=9) as archive:
        with archive.open("w.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_2_0(
                f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                    "fortran_order": False, "shape": header_shape})
            chunk = bytes(1 << 20)
            for start in range(0, payload_bytes, len(chunk)):
                f.write(chunk[:payload_bytes - start])


def _peak_of_load(path, like):
    tracemalloc.start()
    try:
        with pytest.raises(nn.CheckpointError) as error:
            nn.load(path, like=like)
        return tracemalloc.get_traced_memory()[1], str(error.value)
    finally:
        tracemalloc.stop()


def test_bombs_are_refused_before_anything_is_inflated(tmp_path):
    like = {"w": np.zeros(4, np.float32)}
    # 512 MiB of zeros behind a header that says so: about 0.5 MiB on disk
    bomb = tmp_path / "bomb.npz"
    _write_npz(bomb, (1 << 27,), np.float32, 1 << 29)
    assert bomb.stat().st_size < 1 << 20
    peak, message = _peak_of_load(bomb, like)
    assert peak < 64 << 20 and "'w' has shape (134217728,) in the file but (4,)" in message
    # a header declaring 2**40 elements over no data
    huge = tmp_path / "huge.npz"
    _write_npz(huge, (1 << 40,), np.float32, 0)
    peak, message = _peak_of_load(huge, {"w": np.zeros(1 << 40 >> 30, np.float32)})
    assert peak < 64 << 20 and "has shape (1099511627776,)" in message
    # a header that matches the template, followed by 32 MiB more than it declares
    padded = tmp_path / "padded.npz"
    _write_npz(padded, (4,), np.float32, 16 + (32 << 20))
    peak, message = _peak_of_load(padded, like)
    assert peak < 8 << 20 and "declares" in message and "the file is damaged" in message


def test_a_damaged_member_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "c.npz"
    weights = {"w": np.arange(1000.0)}
    nn.save(path, weights)
    data = bytearray(path.read_bytes())
    data[data.index(np.float64(500.0).tobytes())] ^= 0xFF    # one byte of the array's data
    path.write_bytes(bytes(data))
    with pytest.raises(nn.CheckpointError, match="Bad CRC-32"):
        nn.load(path, like={"w": np.zeros(1000)})


def test_a_single_array_file_is_not_a_checkpoint(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(nn.CheckpointError, match="cannot be read as an .npz checkpoint"):
        nn.load(tmp_path / "a.npy", like={"w": np.zeros(3)})


def test_loading_a_nested_checkpoint_into_a_bare_model_suggests_the_template(tmp_path):
    m = model(0)
    path = tmp_path / "c.npz"
    nn.save(path, {"model": m, "opt_state": optim.Adam(1e-3).init(m)})
    with pytest.raises(nn.CheckpointError,
                       match=r"under 'model\.'.*like=\{'model': \.\.\., 'opt_state': \.\.\.\}"):
        model(1).load(path)


# ------------------------------------------------------------ fit: interrupt, checkpoint, resume


def dropout_model():
    r = np.random.default_rng(3)
    return nn.Sequential(nn.Linear(2, 16, rng=r), nn.tanh, nn.Dropout(0.2), nn.Linear(16, 3, rng=r))


class Interrupter:
    """A validation metric that presses Ctrl-C on its ``at``-th call."""

    def __init__(self, at=None):
        self.calls, self.at = 0, at

    def __call__(self, model, x, y):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return 0.0


def run_fit(metric, **options):
    """10 steps of AdamW on a Dropout model (8 steps an epoch, so the checkpoint at step 5
    is mid-epoch), evaluated at steps 7 and 10, with early stopping's bookkeeping."""
    options = {"progress": False, "max_steps": 10, **options}
    return nn.fit(dropout_model(), loss_fn, optim.AdamW(1e-2), blobs(), rng=np.random.default_rng(7),
                  batch_size=32, epochs=2, validation=blobs(60, 1), metrics={"m": metric},
                  eval_every=7, patience=3, **options)


def assert_identical_runs(a, b):
    for x, y in zip(riesz.tree_leaves((a.model, a.opt_state)),
                    riesz.tree_leaves((b.model, b.opt_state))):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(x, y)
    assert a.history == b.history


@pytest.mark.parametrize("jit", [True, False])
def test_an_interrupted_fit_resumes_bit_for_bit(tmp_path, jit, capsys):
    straight = run_fit(Interrupter(), jit=jit)
    path = tmp_path / "run.npz"
    stopped = run_fit(Interrupter(at=1), jit=jit, checkpoint=path, every=5)
    assert stopped.interrupted and not straight.interrupted
    assert stopped.history["step"] == list(range(1, 8))          # stopped at step 7
    assert "interrupted after step 7; rerun the same fit to resume" in capsys.readouterr().err
    resumed = run_fit(Interrupter(), jit=jit, checkpoint=path, every=5)   # from step 5
    assert not resumed.interrupted
    assert_identical_runs(resumed, straight)
    assert resumed.history["eval_step"] == [7, 10] and len(resumed.history["val_m"]) == 2
    # the finished run's checkpoint is at step 10: a rerun takes no step and returns it
    again = run_fit(Interrupter(at=1), jit=jit, checkpoint=path, every=5)
    assert_identical_runs(again, straight)


def test_a_finished_run_resumes_for_more_steps(tmp_path):
    """A checkpoint of a 10-step run goes on to 16 steps: the same parameters and training
    losses as 16 steps straight (the evaluations differ: a run evaluates at its last step)."""
    path = tmp_path / "run.npz"
    run_fit(Interrupter(), checkpoint=path, every=5)
    longer = run_fit(Interrupter(), checkpoint=path, every=5, max_steps=16)
    straight = run_fit(Interrupter(), max_steps=16)
    for a, b in zip(riesz.tree_leaves((longer.model, longer.opt_state)),
                    riesz.tree_leaves((straight.model, straight.opt_state))):
        np.testing.assert_array_equal(a, b)
    assert longer.history["train_loss"] == straight.history["train_loss"]
    assert longer.history["eval_step"] == [7, 10, 14, 16]


def test_an_interrupted_fit_returns_its_progress():
    stopped = run_fit(Interrupter(at=1))
    assert stopped.interrupted and len(stopped.history["train_loss"]) == 7
    seven = nn.fit(dropout_model(), loss_fn, optim.AdamW(1e-2), blobs(),
                   rng=np.random.default_rng(7), batch_size=32, max_steps=7, progress=False)
    for a, b in zip(riesz.tree_leaves(stopped.model), riesz.tree_leaves(seven.model)):
        np.testing.assert_array_equal(a, b)


def test_a_checkpoint_of_another_run_is_not_resumed(tmp_path):
    path = tmp_path / "run.npz"
    run_fit(Interrupter(), checkpoint=path, every=5)
    with pytest.raises(nn.CheckpointError, match="cannot resume from checkpoint=.*another run"):
        nn.fit(nn.MLP([2, 4, 3], rng=np.random.default_rng(0)), loss_fn, optim.AdamW(1e-2),
               blobs(), rng=np.random.default_rng(7), batch_size=32, epochs=2, max_steps=10,
               progress=False, checkpoint=path)


def test_fit_warnings_point_at_the_users_call():
    def deterministic_loss(model, x, y):
        return nn.softmax_cross_entropy(model(x), y)

    with pytest.warns(UserWarning, match="stochastic layers") as caught:
        nn.fit(dropout_model(), deterministic_loss, optim.SGD(0.1), blobs(),
               rng=np.random.default_rng(0), max_steps=1, progress=False)
    assert caught[0].filename == __file__

    def branching_loss(model, x, y):
        loss = nn.softmax_cross_entropy(model(x), y)
        return loss if loss > 0 else -loss

    with pytest.warns(RuntimeWarning, match="cannot be staged") as caught:
        nn.fit(nn.MLP([2, 4, 3], rng=np.random.default_rng(0)), branching_loss, optim.SGD(0.1),
               blobs(), rng=np.random.default_rng(0), max_steps=2, progress=False)
    assert caught[0].filename == __file__


def test_progress_and_evaluation_lines_share_stderr(capsys):
    run_fit(Interrupter(), progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "step 7: val_loss" in err and "step 10: val_loss" in err


def test_plot_draws_on_its_own_figure(tmp_path, capsys):
    matplotlib = pytest.importorskip("matplotlib")
    previous = matplotlib.get_backend()
    matplotlib.use("svg")        # a backend plot_history must leave alone
    try:
        path = tmp_path / "curves.png"
        result = run_fit(Interrupter(), plot=path)
        assert result.plot == path and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.get_backend() == "svg"
        import sys
        pyplot = sys.modules.get("matplotlib.pyplot")
        assert pyplot is None or not pyplot.get_fignums()      # no figure left open
    finally:
        matplotlib.use(previous)


def test_no_plot_is_announced_without_matplotlib(tmp_path, capsys, hide_modules):
    hide_modules("matplotlib")
    path = tmp_path / "curves.png"
    result = run_fit(Interrupter(), plot=path)
    assert result.plot is None and not path.exists()
    assert "matplotlib is not installed, so no plot was written" in capsys.readouterr().err


def test_an_early_stopped_run_stays_stopped(tmp_path):
    """Early stopping ends the run: rerunning with its checkpoint takes no step."""
    path = tmp_path / "run.npz"
    kwargs = dict(rng=np.random.default_rng(0), epochs=20, batch_size=32, validation=blobs(60, 1),
                  eval_every=2, patience=1, progress=False, checkpoint=path)
    stopped = nn.fit(dropout_model(), loss_fn, optim.SGD(5.0), blobs(), **kwargs)
    steps = stopped.history["step"][-1]
    assert steps < 20 * 8                                  # a learning rate of 5 diverges
    kwargs["rng"] = np.random.default_rng(0)
    again = nn.fit(dropout_model(), loss_fn, optim.SGD(5.0), blobs(), **kwargs)
    assert again.history == stopped.history
    assert_identical_runs(again, stopped)
