"""The transaction lock serves waiters in arrival order (no starvation of the supervisor by a send loop)."""

from __future__ import annotations

import threading
import time

import pytest

from modem.transaction import FairLock


def test_waiters_served_in_arrival_order():
    lock = FairLock()
    order = []
    lock.acquire()

    def worker(n):
        lock.acquire()
        order.append(n)
        lock.release()

    threads = []
    for n in range(5):
        t = threading.Thread(target=worker, args=(n,))
        t.start()
        threads.append(t)
        time.sleep(0.02)          # arrive in order 0..4
    lock.release()
    for t in threads:
        t.join(2)
    assert order == [0, 1, 2, 3, 4]


def test_tight_loop_does_not_starve_a_waiter():
    lock = FairLock()
    stop = threading.Event()
    got = threading.Event()
    rounds = []

    def hog():
        while not stop.is_set():
            with lock:
                rounds.append(1)
                time.sleep(0.001)

    hog_thread = threading.Thread(target=hog)
    hog_thread.start()
    time.sleep(0.02)
    started = time.monotonic()
    with lock:
        got.set()
    waited = time.monotonic() - started
    stop.set()
    hog_thread.join(2)
    assert got.is_set() and waited < 0.1       # served after at most the hog's current turn


def test_release_unheld_is_an_error():
    lock = FairLock()
    with pytest.raises(RuntimeError):
        lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()
