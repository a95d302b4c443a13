"""``lfkit score``'s start-up order: the readers start before torch is imported, and
a model whose weights do not fit still fails once, cleanly, before anything is written."""

from __future__ import annotations

import subprocess
import sys

import pytest

from binary_helpers import jsonl, shared
from conftest import assert_clean_failure, run_lfkit
from lfkit import scoring
from lfkit.inference.modelfile import read_raw, write_raw
from lfkit.scoring import score


@pytest.fixture(scope="module")
def sh(tmp_path_factory):
    return shared(tmp_path_factory)


def test_model_file_read_without_torch(sh):
    code = ("import sys; from lfkit.inference.scorers import load_scorers, build_networks; "
            f"s = load_scorers([{str(sh.model)!r}], build=False); assert s[0].net is None; "
            "assert 'torch' not in sys.modules, 'torch imported'; build_networks(s); "
            "assert s[0].net is not None and 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_networks_built_after_the_readers_start(sh, tmp_path, monkeypatch):
    events = []
    real_map, real_build = scoring.prepare_in_workers, scoring.build_networks
    monkeypatch.setattr(scoring, "prepare_in_workers", lambda *a, **k: events.append("map") or real_map(*a, **k))
    monkeypatch.setattr(scoring, "build_networks", lambda s: events.append("build") or real_build(s))
    out2, out1 = tmp_path / "w2.jsonl", tmp_path / "w1.jsonl"
    assert score([str(sh.model)], [str(sh.data)], str(out2), workers=2) == 0
    assert events == ["map", "build"]
    score([str(sh.model)], [str(sh.data)], str(out1), workers=1)
    assert out2.read_bytes() == out1.read_bytes()
    assert len(jsonl(out2.read_text())) == 24


@pytest.mark.parametrize("resume", [False, True])
def test_weights_that_do_not_fit_fail_once_and_write_nothing(sh, tmp_path, resume):
    doc = read_raw(sh.model)
    key = next(iter(doc["state_dict"]))
    doc["state_dict"][key] = doc["state_dict"][key].reshape(-1)[:3].copy()
    bad = tmp_path / "bad.pt"
    write_raw(doc, bad)
    out = tmp_path / "o" / "s.jsonl"
    args = ["score", bad, sh.data, "--workers", "2", "-o", out] + (["--resume"] if resume else [])
    line = assert_clean_failure(run_lfkit(*args), "score", codes=(1,))
    assert "weights do not fit" in line, line
    assert not (tmp_path / "o").exists() or list((tmp_path / "o").iterdir()) == []
