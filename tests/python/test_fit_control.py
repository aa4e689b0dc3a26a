"""Callbacks, early stop, Ctrl-C, progress bars, threads."""

import os
import signal
import threading

import numpy as np
import pytest

import mfkit
from conftest import quick


def test_callback_sees_every_epoch_and_can_stop(implicit_matrix):
    seen = []

    def cb(epoch, seconds, loss):
        seen.append((epoch, seconds, loss))
        return epoch < 2

    m = quick("implicit-als", iterations=10).fit(implicit_matrix, show_progress=False, callback=cb)
    assert [e for e, _, _ in seen] == [1, 2]  # epochs count from 1, as the CLI prints them
    # the loss is an extra pass, computed only when asked (as implicit: None otherwise)
    assert all(s >= 0 and loss is None for _, s, loss in seen)
    assert m.fitted and len(m.history) == 2
    seen.clear()
    quick("implicit-als", iterations=3, compute_loss=True).fit(implicit_matrix, show_progress=False, callback=cb)
    assert len(seen) == 2 and all(np.isfinite(loss) and loss > 0 for _, _, loss in seen)


def test_callback_exception_propagates(implicit_matrix):
    def cb(epoch, seconds, loss):
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        quick("implicit-als").fit(implicit_matrix, show_progress=False, callback=cb)


def test_ctrl_c_stops_within_an_epoch_and_raises_keyboard_interrupt():
    data = mfkit.datasets.synthetic(users=2000, items=1500, density=0.05).to_csr()
    model = quick("implicit-als", iterations=10000, factors=32)
    # Python's own handler, whatever this process inherited: started with SIGINT ignored (a
    # shell's `cmd &` without job control), Python never raises KeyboardInterrupt.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(data, show_progress=False)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert 0 < len(model.history) < 10000


def test_progress_bar_is_written(implicit_matrix, capsys):
    quick("implicit-als").fit(implicit_matrix, show_progress=True)
    err = capsys.readouterr().err
    assert "ImplicitALS" in err and "6/6" in err


def test_valid_rmse_reaches_the_history(ratings):
    train, test = mfkit.split(ratings, "random:0.9", 1)
    m = quick("biased-mf").fit(train, valid=test, show_progress=False)
    assert all(h["valid_rmse"] is not None for h in m.history)
    assert m.history[-1]["valid_rmse"] == pytest.approx(mfkit.evaluate(m, test)["rmse"], rel=1e-4)


def test_same_seed_one_thread_is_reproducible(implicit_matrix):
    a = quick("implicit-als").fit(implicit_matrix, show_progress=False, num_threads=1)
    b = quick("implicit-als").fit(implicit_matrix, show_progress=False, num_threads=1)
    np.testing.assert_array_equal(a.item_factors, b.item_factors)


def test_gil_is_released_during_fit():
    data = mfkit.datasets.synthetic(users=1500, items=1000, density=0.05).to_csr()
    model = quick("implicit-als", iterations=40, factors=32)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.005)

    t = threading.Thread(target=count)
    t.start()
    model.fit(data, show_progress=False, num_threads=1)
    stop.set()
    t.join()
    seconds = sum(h["seconds"] for h in model.history)
    assert len(ticks) > 0.3 * seconds / 0.005
