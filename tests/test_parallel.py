"""The one parallel map (lfkit.parallel): order, errors per item, any executor, one batch-size rule."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial

import numpy as np
import pytest

from lfkit.errors import DataError
from lfkit.parallel import NET_BATCH, batch_size_for, map_batches, net_batches


def _square_or_refuse(x, bad=()):
    """Module level (picklable): x squared, a DataError for the ``bad`` ones."""
    if x in bad:
        raise DataError(f"item={x} refused")
    return x * x


def _crash(x):
    if x == 3:
        raise KeyError("not an lfkit error")
    return x


def _pid(_):
    return os.getpid()


def _plain(results):
    return [str(r) if isinstance(r, DataError) else r for r in results]


ITEMS = list(range(37))
FN = partial(_square_or_refuse, bad=(5, 20))
EXPECTED = [f"item={x} refused" if x in (5, 20) else x * x for x in ITEMS]


@pytest.mark.parametrize("batch_size", [None, 1, 4, 100])
def test_in_process_keeps_order_and_errors_per_item(batch_size):
    out = list(map_batches(FN, ITEMS, batch_size=batch_size))
    assert _plain(out) == EXPECTED
    assert isinstance(out[5], DataError) and isinstance(out[20], DataError)


def test_a_thread_pool_gives_the_in_process_results():
    with ThreadPoolExecutor(max_workers=3) as ex:
        assert _plain(map_batches(FN, ITEMS, workers=3, executor=ex, batch_size=2)) == EXPECTED


def test_a_process_pool_gives_the_in_process_results():
    with ProcessPoolExecutor(max_workers=2) as ex:
        out = list(map_batches(FN, ITEMS, workers=2, executor=ex, batch_size=3))
        pids = set(map_batches(_pid, range(8), workers=2, executor=ex, batch_size=1))
    assert _plain(out) == EXPECTED
    assert os.getpid() not in pids  # the work really ran elsewhere


def test_the_default_loky_pool_gives_the_in_process_results():
    assert _plain(map_batches(FN, ITEMS, workers=2)) == EXPECTED


@pytest.mark.parametrize("executor", [None, "threads"])
def test_other_exceptions_propagate(executor):
    if executor is None:
        with pytest.raises(KeyError):
            list(map_batches(_crash, range(6), batch_size=2))
        return
    with ThreadPoolExecutor(max_workers=2) as ex:
        with pytest.raises(KeyError):
            list(map_batches(_crash, range(6), workers=2, executor=ex, batch_size=2))


def test_an_empty_map_yields_nothing():
    assert list(map_batches(FN, [])) == []
    with ThreadPoolExecutor(max_workers=2) as ex:
        assert list(map_batches(FN, [], executor=ex)) == []


@pytest.mark.parametrize("n, workers, size", [(0, 1, 1), (3, 1, 1), (8, 1, 2), (100, 2, 12), (1000, 2, 64),
                                              (10_000, 1, 64), (7, 4, 1)])
def test_the_batch_size_rule(n, workers, size):
    assert batch_size_for(n, workers) == size


def test_the_batches_map_follows_the_rule():
    seen = []

    class Recording(ThreadPoolExecutor):
        def submit(self, fn, *args):
            seen.append(len(args[1]))
            return super().submit(fn, *args)

    with Recording(max_workers=2) as ex:
        list(map_batches(FN, range(100), workers=2, executor=ex))
    assert seen == [12] * 8 + [4]


def test_net_batches_concatenates_slices_of_net_batch_rows():
    calls = []

    def fn(x):
        calls.append(len(x))
        return x * 2.0

    X = np.arange(2 * NET_BATCH + 5, dtype=np.float32).reshape(-1, 1)
    out = net_batches(fn, X)
    assert calls == [NET_BATCH, NET_BATCH, 5] and np.array_equal(out, X * 2.0)
    assert net_batches(lambda x: [float(v) for v in x[:, 0]], X, batch_size=100) == [float(v) for v in X[:, 0]]
    assert net_batches(fn, X[:0]) is None


def test_score_through_any_executor_writes_the_same_records(tmp_path_factory, tmp_path):
    """The shared map under ``lfkit score``: local processes, a thread pool and a process pool agree to the byte."""
    from binary_helpers import shared
    from lfkit.scoring import score

    sh = shared(tmp_path_factory)
    outs = {}
    with ThreadPoolExecutor(max_workers=2) as threads, ProcessPoolExecutor(max_workers=2) as procs:
        for name, kw in {"in-process": {}, "loky": {"workers": 2}, "threads": {"executor": threads},
                         "processes": {"workers": 2, "executor": procs}}.items():
            out = tmp_path / f"{name}.jsonl"
            assert score([str(sh.model)], [str(sh.data)], str(out), **kw) == 0
            outs[name] = out.read_bytes()
    assert len(outs["in-process"].splitlines()) == 24
    assert len(set(outs.values())) == 1
