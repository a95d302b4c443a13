"""``--scheduler``: lfkit's parallel map on a real Dask cluster (``lfkit.cluster``).

The cluster tests start a real scheduler and worker processes on localhost
(``python -m distributed.cli.dask_scheduler`` / ``dask_worker``, at most two
workers at a time) and stop every process they started, whatever happens.
They are skipped when dask.distributed is not installed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lfkit
from lfkit import cluster
from lfkit.errors import DataError, ParameterError

HAVE_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(not HAVE_DASK, reason="dask.distributed is not installed (pip install 'lfkit[dask]')")


# --- parsing (no dask needed) -------------------------------------------------------------------

@pytest.mark.parametrize("text, field, value", [
    ("local:2", "n_workers", 2),
    ("LOCAL:16", "n_workers", 16),
    ("tcp://10.0.0.5:8786", "address", "tcp://10.0.0.5:8786"),
    ("tls://sched.example.org:8786", "address", "tls://sched.example.org:8786"),
    ("sched.example.org:8786", "address", "tcp://sched.example.org:8786"),
    ("127.0.0.1:8786", "address", "tcp://127.0.0.1:8786"),
    ("[::1]:8786", "address", "tcp://[::1]:8786"),
])
def test_parse_scheduler_forms(text, field, value):
    s = cluster.parse_scheduler(text)
    assert getattr(s, field) == value
    assert sum(x is not None for x in (s.n_workers, s.address, s.file)) == 1


def test_parse_scheduler_file(tmp_path):
    f = tmp_path / "scheduler.json"
    f.write_text(json.dumps({"address": "tcp://127.0.0.1:1"}))
    assert cluster.parse_scheduler(str(f)).file == str(f)


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("local", "local:N"),
    ("local:0", "N >= 1"),
    ("local:two", "local:N"),
    ("tcp://host:70000", "port 70000"),
    ("tcp://host", "HOST:PORT"),
    ("nowhere", "not a scheduler"),
    ("missing-scheduler.json", "no such scheduler file"),
])
def test_parse_scheduler_refuses_with_the_option_named(text, words):
    with pytest.raises(ParameterError) as e:
        cluster.parse_scheduler(text)
    msg = str(e.value)
    assert msg.startswith(f"--scheduler={text!r}") and words in msg and "\n" not in msg


def test_sample_paths_keeps_first_last_and_drops_stdin():
    paths = [f"/d/{i}.wav" for i in range(100)]
    got = cluster.sample_paths(["-", *paths], k=5)
    assert got[0] == "/d/0.wav" and got[-1] == "/d/99.wav" and len(got) == 5 and "-" not in got
    assert cluster.sample_paths(paths[:3]) == paths[:3]


def test_without_the_extra_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ParameterError) as e:
        with cluster.executor_for("local:1"):
            pass
    assert str(e.value) == "--scheduler needs the dask extra: pip install 'lfkit[dask]'"


def test_no_scheduler_means_no_executor_and_no_dask(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with cluster.scheduled(None, ["/nowhere.wav"], 2) as (ex, workers):
        assert ex is None and workers == 2


def test_lfkit_imports_no_dask():
    code = "import sys, lfkit.cluster, lfkit.scoring; print(any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --- a real scheduler and workers on localhost ---------------------------------------------------

class Cluster:
    """A scheduler and worker processes started here; :meth:`stop` ends each of them by its id."""

    def __init__(self, root: Path):
        self.root = root
        self.file = root / "scheduler.json"
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []

    def _spawn(self, module, *args, env=None):
        log = open(self.root / f"{module.rsplit('.', 1)[1]}-{len(self.procs)}.log", "wb")
        p = subprocess.Popen([sys.executable, "-m", module, *args], stdout=log, stderr=subprocess.STDOUT,
                             cwd=self.root, env={**os.environ, **(env or {})})
        log.close()
        self.procs.append(p)
        return p

    def start_scheduler(self):
        self._spawn("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(self.file))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.address = json.loads(self.file.read_text())["address"]
                return self
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        raise RuntimeError("the test scheduler did not start")

    def start_workers(self, n: int, env=None):
        for _ in range(n):
            self.workers.append(self._spawn(
                "distributed.cli.dask_worker", "--scheduler-file", str(self.file), "--nworkers", "1",
                "--nthreads", "1", "--no-nanny", "--no-dashboard", "--memory-limit", "0", "--death-timeout", "30",
                env=env))
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as c:
            c.wait_for_workers(len(self.workers), timeout=30)
        return self

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """A scheduler and two single-threaded workers, shared by the tests that do not harm them."""
    if not HAVE_DASK:
        pytest.skip("dask.distributed is not installed (pip install 'lfkit[dask]')")
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield c.start_scheduler().start_workers(2)
    finally:
        c.stop()


@pytest.fixture
def own_cluster(tmp_path):
    """A scheduler with no workers yet, stopped after the test (for tests that kill or break workers)."""
    if not HAVE_DASK:
        pytest.skip("dask.distributed is not installed (pip install 'lfkit[dask]')")
    c = Cluster(tmp_path)
    try:
        yield c.start_scheduler()
    finally:
        c.stop()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """12 short WAV clips of three lengths (absolute paths)."""
    from lfkit.config import SynthConfig
    from lfkit.synth import synthesize

    root = tmp_path_factory.mktemp("cluster_clips")
    paths = []
    for i in range(12):
        p = root / f"c{i:02d}.wav"
        synthesize(str(p), SynthConfig(duration_s=0.05 * (1 + i % 3), sr=8000), snr="-10", seed=i, tones="440")
        paths.append(str(p))
    return paths


def _by_value():
    """Functions built here are pickled by value, so workers that cannot import this test file run them."""

    def digest(path):
        from lfkit import io

        y, sr = io.read_audio(path)
        return path, sr, len(y), hashlib.sha256(y.tobytes()).hexdigest()

    def slow_square(i, pause_s):
        time.sleep(pause_s)
        return i * i, os.getpid()

    def flaky(path, fails):
        """Raises on its first ``fails`` calls (counted in a file), then returns how many calls it took."""
        with open(path, "a") as f:
            f.write("x")
        calls = len(open(path).read())
        if calls <= fails:
            raise RuntimeError(f"transient failure {calls}")
        return calls

    return digest, slow_square, flaky


def _ordered_map(fn, items, executor):
    """Through lfkit.parallel.map_batches when it exists, else submit one task per item and read in order."""
    try:
        from lfkit.parallel import map_batches
    except ImportError:
        return [f.result(timeout=60) for f in [executor.submit(fn, x) for x in items]]
    return list(map_batches(fn, items, workers=cluster.cluster_workers(executor), executor=executor))


@needs_dask
@pytest.mark.parametrize("form", ["address", "file"])
def test_cluster_results_equal_a_local_run_in_order(two_workers, clips, form):
    from lfkit import io

    digest, *_ = _by_value()
    where = two_workers.address if form == "address" else str(two_workers.file)
    local = [digest(p) for p in clips]
    with cluster.executor_for(where, inputs=clips) as ex:
        assert cluster.cluster_workers(ex) == 2
        assert _ordered_map(digest, clips, ex) == local
        # a library function shipped by reference (workers import lfkit) gives the same as here
        assert _ordered_map(io.audio_info, clips, ex) == [io.audio_info(p) for p in clips]


@needs_dask
def test_local_n_starts_and_closes_a_local_cluster(clips, capfd):
    digest, *_ = _by_value()
    notes = []
    with cluster.executor_for("local:64", inputs=clips, notice=notes.append) as ex:
        n = cluster.cluster_workers(ex)
        client = ex._client
        assert _ordered_map(digest, clips, ex) == [digest(p) for p in clips]

        def settings():
            import dask

            return {k: dask.config.get(k) for k in cluster.LOCAL_WORKER_CONFIG}

        assert set(map(repr, client.run(settings).values())) == {repr(cluster.LOCAL_WORKER_CONFIG)}
    time.sleep(1)  # anything the workers would say as they stop
    assert capfd.readouterr().err == ""
    from lfkit.resources import available_cores

    assert n == min(64, available_cores())
    assert (available_cores() < 64) == any("64" in s for s in notes)
    assert client.status == "closed"


@needs_dask
def test_unreachable_scheduler_is_one_line_and_fast():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(DataError) as e:
        with cluster.executor_for(f"127.0.0.1:{port}", connect_timeout_s=3):
            pass
    assert time.monotonic() - t0 < 10
    msg = str(e.value)
    assert msg.startswith(f"--scheduler='127.0.0.1:{port}': no Dask scheduler at tcp://127.0.0.1:{port}")
    assert "\n" not in msg


@needs_dask
def test_scheduler_file_that_is_not_json_is_a_data_error(tmp_path):
    f = tmp_path / "sched.json"
    f.write_text("not json")
    with pytest.raises(DataError, match="cannot read the scheduler file"):
        with cluster.executor_for(str(f)):
            pass


@needs_dask
def test_workers_that_cannot_read_the_inputs_are_named(two_workers, clips, tmp_path):
    absent = str(tmp_path / "not-on-the-workers.wav")
    with pytest.raises(DataError) as e:
        with cluster.executor_for(two_workers.address, inputs=[clips[0], absent]):
            pass
    msg = str(e.value)
    assert "cannot read input" in msg and absent in msg and "worker tcp://127.0.0.1:" in msg and "\n" not in msg
    with pytest.raises(DataError, match="relative path"):
        with cluster.executor_for(two_workers.address, inputs=["relative/clip.wav"]):
            pass


@needs_dask
@pytest.mark.parametrize("fake, words", [
    ({"__init__": "raise ImportError('No module named lfkit')"}, "cannot import lfkit (ImportError: No module named lfkit)"),
    ({"__init__": "__version__ = '0.0.1'"}, "runs lfkit 0.0.1"),
    ({"__init__": f"__version__ = {lfkit.__version__!r}", "features": "raise ImportError('scipy is missing')"},
     "cannot import lfkit.features (ImportError: scipy is missing)"),
], ids=["no-lfkit", "other-version", "broken-module"])
def test_workers_without_this_lfkit_are_refused(own_cluster, tmp_path, fake, words):
    fake_root = tmp_path / "fake"
    (fake_root / "lfkit").mkdir(parents=True)
    for name, text in fake.items():  # a package that shadows lfkit on the worker's PYTHONPATH
        (fake_root / "lfkit" / f"{name}.py").write_text(text + "\n")
    own_cluster.start_workers(1, env={"PYTHONPATH": str(fake_root)})
    with pytest.raises(DataError) as e:
        with cluster.executor_for(own_cluster.address):
            pass
    msg = str(e.value)
    assert msg.startswith(f"--scheduler={own_cluster.address!r}: worker tcp://") and words in msg
    assert "every worker" in msg and "\n" not in msg


@needs_dask
def test_scheduler_without_workers_is_a_data_error(own_cluster):
    with pytest.raises(DataError, match="the scheduler has no workers"):
        with cluster.executor_for(own_cluster.address, worker_timeout_s=1):
            pass


@needs_dask
def test_a_worker_killed_mid_job_loses_nothing(own_cluster):
    own_cluster.start_workers(2)
    _, slow_square, _ = _by_value()
    items = list(range(24))
    fn = functools.partial(slow_square, pause_s=0.25)
    with cluster.executor_for(own_cluster.address) as ex:
        futures = [ex.submit(fn, i) for i in items]
        _, first_pid = futures[0].result(timeout=30)
        victim = next(p for p in own_cluster.workers if p.pid == first_pid)
        os.kill(victim.pid, signal.SIGKILL)  # the worker that was running tasks, mid-job
        results = [f.result(timeout=60) for f in futures]
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert [r for r, _ in results] == [i * i for i in items]
    survivor = next(p.pid for p in own_cluster.workers if p is not victim)
    assert results[-1][1] == survivor  # the batches after the kill ran on the worker left


@needs_dask
def test_a_task_that_raises_is_run_again_up_to_retries(two_workers, tmp_path):
    *_, flaky = _by_value()
    with cluster.executor_for(two_workers.address) as ex:
        assert ex.submit(flaky, str(tmp_path / "a"), cluster.RETRIES).result(timeout=60) == cluster.RETRIES + 1
        with pytest.raises(RuntimeError, match=f"transient failure {cluster.RETRIES + 1}"):
            ex.submit(flaky, str(tmp_path / "b"), cluster.RETRIES + 1).result(timeout=60)


# --- the command line ---------------------------------------------------------------------------


@needs_dask
@pytest.mark.parametrize("where", ["cluster", "local:2"])
def test_score_on_a_cluster_writes_the_local_records_byte_for_byte(two_workers, tmp_path_factory, tmp_path, where):
    from binary_helpers import shared
    from conftest import run_lfkit

    sh = shared(tmp_path_factory)
    local, remote = tmp_path / "local.jsonl", tmp_path / "dask.jsonl"
    r = run_lfkit("score", sh.model, sh.data, "-o", local, "-q")
    assert r.returncode == 0, r.stderr.decode()
    sched = two_workers.address if where == "cluster" else where
    r = run_lfkit("score", sh.model, sh.data, "-o", remote, "-q", "--scheduler", sched)
    assert r.returncode == 0, r.stderr.decode()
    assert remote.read_bytes() == local.read_bytes() and local.stat().st_size > 0


@needs_dask
def test_embed_on_a_cluster_and_in_workers_writes_the_local_bytes(two_workers, tmp_path_factory, tmp_path):
    """embed --workers 2 and --scheduler ADDRESS write the array and CSV of a one-process run, byte for byte."""
    from binary_helpers import shared
    from conftest import run_lfkit

    sh = shared(tmp_path_factory)
    outs = {}
    for tag, extra in (("one", []), ("two", ["--workers", "2"]), ("dask", ["--scheduler", two_workers.address])):
        out = tmp_path / f"{tag}.npy"
        r = run_lfkit("embed", sh.model, sh.data, "-o", out, "-q", *extra)
        assert r.returncode == 0, r.stderr.decode()
        outs[tag] = (out.read_bytes(), out.with_suffix(".csv").read_bytes())
    assert outs["one"][0] and outs["two"] == outs["one"] and outs["dask"] == outs["one"]


@needs_dask
def test_embed_refuses_a_scheduler_that_does_not_answer(tmp_path_factory, tmp_path):
    from binary_helpers import shared
    from conftest import run_lfkit

    sh = shared(tmp_path_factory)
    r = run_lfkit("embed", sh.model, sh.data, "-o", tmp_path / "e.npy", "--scheduler", "tcp://127.0.0.1:9")
    msg = r.stderr.decode()
    assert r.returncode == 1 and "--scheduler" in msg and len(msg.strip().splitlines()) == 1, msg
    assert list(tmp_path.iterdir()) == []
