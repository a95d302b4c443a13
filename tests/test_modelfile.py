"""The model file: its fields, a faithful round trip, and refusal of anything
that is not a current lfkit model, above all a file that would run code."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest
import torch

from binary_helpers import invoke, one_error_line, shared
from lfkit import MODEL_FORMAT_VERSION, __version__
from lfkit.config import FrontendConfig
from lfkit.errors import DataError
from lfkit.modelfile import FORMAT_TAG, build_network, load_model, read_raw, save_model, write_raw


@pytest.fixture(scope="module")
def sh(tmp_path_factory):
    return shared(tmp_path_factory)


class _Payload:
    """Unpickling this runs ``open(marker, 'w')`` (or ``os.system('touch marker')``): creates a file."""

    def __init__(self, marker, how="open"):
        self.marker, self.how = str(marker), how

    def __reduce__(self):
        if self.how == "system":
            return (os.system, (f"touch '{self.marker}'",))
        return (open, (self.marker, "w"))


def test_fields_present(sh):
    raw = read_raw(sh.model)
    for key in ("format", "format_version", "lfkit_version", "regime", "arch", "arch_kwargs", "state_dict",
                "frontend", "input", "classes", "positive", "threshold", "training"):
        assert key in raw, key
    assert raw["format"] == FORMAT_TAG and raw["format_version"] == MODEL_FORMAT_VERSION
    assert raw["lfkit_version"] == __version__
    assert raw["arch"] == "speccnn" and raw["regime"] == "binary"
    assert FrontendConfig.from_dict(raw["frontend"]) == FrontendConfig()
    assert raw["input"]["kind"] == "spectrogram" and raw["input"]["sr"] == 44100
    assert raw["input"]["n_samples"] == 22050
    assert raw["input"]["shape"][1] == 1 + (22050 - 4096) // 1024
    assert raw["classes"] == ["negative", "positive"] and raw["positive"] == "positive"
    assert 0 < raw["threshold"] < 1 and raw["threshold"] == raw["training"]["threshold"]  # picked on validation
    assert raw["training"]["epochs_run"] == 2 and raw["training"]["config"]["seed"] == 0


def test_round_trip_of_the_current_format(tmp_path):
    from lfkit.models import create_model

    net = create_model("lenet", n_outputs=1)
    fe = FrontendConfig(kind="logmel", n_mels=32, sr=8000)
    extra = {"centre": np.arange(6, dtype=np.float32).reshape(2, 3), "k": 3, "names": ["a", "b"]}
    save_model(tmp_path / "m.pt", "binary", fe, {"kind": "spectrogram", "sr": 8000, "n_samples": 8000, "shape": [32, 4]},
               arch="lenet", arch_kwargs=net.arch_kwargs, state_dict=net.state_dict(), classes=["neg", "pos"],
               positive="pos", threshold=0.25, training={"epochs": np.int64(3)}, extra=extra)
    doc = load_model(tmp_path / "m.pt")
    assert doc["frontend"] == fe and doc["threshold"] == 0.25 and doc["name"] == "m"
    assert doc["training"] == {"epochs": 3}
    assert isinstance(doc["extra"]["centre"], np.ndarray)
    np.testing.assert_array_equal(doc["extra"]["centre"], extra["centre"])
    assert doc["extra"]["k"] == 3 and doc["extra"]["names"] == ["a", "b"]
    rebuilt = build_network(doc)
    x = torch.randn(2, 1, 32, 12)
    net.eval()
    with torch.no_grad():
        assert torch.equal(rebuilt(x), net(x))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("how", ["open", "system"])
@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_pickle_bearing_file_is_refused_and_runs_nothing(tmp_path, how, writer):
    marker = tmp_path / "pwned"
    # the payload does work when unpickled the unsafe way (so this test can fail)
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(probe, how)))
    assert probe.exists()
    bad = tmp_path / "evil.pt"
    doc = {"format": FORMAT_TAG, "format_version": MODEL_FORMAT_VERSION, "payload": _Payload(marker, how)}
    if writer == "torch":
        torch.save(doc, bad)
    else:
        bad.write_bytes(pickle.dumps(doc))
    with pytest.raises(DataError, match="evil.pt") as info:
        load_model(bad)
    assert "refused" in str(info.value) or "not" in str(info.value)
    assert not marker.exists()
    rc, out, err = invoke("score", bad, probe, "-o", tmp_path / "s.jsonl")
    assert rc == 1 and out == b""
    assert "evil.pt" in one_error_line(err, "score")
    assert not marker.exists() and not (tmp_path / "s.jsonl").exists()


def test_truncated_model_is_refused(sh, tmp_path):
    data = sh.model.read_bytes()
    half = tmp_path / "half.pt"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="half.pt"):
        load_model(half)
    rc, out, err = invoke("score", half, sh.data, "-o", tmp_path / "s.jsonl")
    assert rc == 1 and out == b""
    one_error_line(err, "score")
    assert not (tmp_path / "s.jsonl").exists()


@pytest.mark.parametrize("content, words", [
    ({"a": torch.zeros(3)}, "not an lfkit model"),
    ([1, 2, 3], "not an lfkit model"),
    ({"format": FORMAT_TAG, "format_version": 1}, "damaged"),
])
def test_other_torch_files_are_refused(tmp_path, content, words):
    p = tmp_path / "other.pt"
    torch.save(content, p)
    with pytest.raises(DataError, match=words):
        load_model(p)


@pytest.mark.parametrize("content", [b"", b"plain text, not a model\n" * 10])
def test_non_torch_files_are_refused(tmp_path, content):
    p = tmp_path / "x.pt"
    p.write_bytes(content)
    with pytest.raises(DataError, match="x.pt"):
        load_model(p)


def test_future_format_version_is_refused_naming_versions(sh, tmp_path):
    raw = read_raw(sh.model)
    raw["format_version"] = MODEL_FORMAT_VERSION + 1
    raw["lfkit_version"] = "99.0"
    p = tmp_path / "future.pt"
    write_raw(raw, p)
    with pytest.raises(DataError) as info:
        load_model(p)
    msg = str(info.value)
    assert f"format {MODEL_FORMAT_VERSION + 1}" in msg and f"format {MODEL_FORMAT_VERSION})" in msg
    assert "99.0" in msg and __version__ in msg


def test_weights_that_do_not_fit_the_architecture_are_refused(sh, tmp_path):
    raw = read_raw(sh.model)
    raw["arch"] = "lenet"
    p = tmp_path / "mixed.pt"
    write_raw(raw, p)
    with pytest.raises(DataError, match="do not fit arch='lenet'"):
        build_network(load_model(p))
    # refused once, on one line, before any clip is read (not once per clip)
    rc, out, err = invoke("score", p, sh.data, "-o", tmp_path / "s.jsonl")
    assert rc == 1 and out == b""
    assert "mixed: weights do not fit" in one_error_line(err, "score")
    assert not (tmp_path / "s.jsonl").exists()


def _leaf_types(x) -> set:
    """The types of every non-container value in nested dicts, lists and tuples (keys must be str)."""
    if isinstance(x, dict):
        assert all(isinstance(k, str) for k in x), list(x)
        return set().union(set(), *map(_leaf_types, x.values()))
    if isinstance(x, (list, tuple)):
        return set().union(set(), *map(_leaf_types, x))
    return {type(x)}


def test_loading_reads_only_weights(sh):
    # the file is plain arrays: numpy reads every member with pickle refused, and the header is JSON
    import json

    with np.load(io.BytesIO(sh.model.read_bytes()), allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    assert all(a.dtype != object for a in members.values())
    header = json.loads(members.pop("header").tobytes().decode("utf-8"))
    raw = read_raw(sh.model)
    probe = (raw["extra"] or {}).get("probe") or {}  # lfkit.fusion: the linear probe's arrays
    n_probe = sum(isinstance(v, np.ndarray) for v in probe.values())
    assert header["format"] == FORMAT_TAG and len(members) == len(raw["state_dict"]) + n_probe
    assert _leaf_types(raw) <= {np.ndarray, str, int, float, bool, type(None)}, _leaf_types(raw)
    net = build_network(load_model(sh.model))
    state = net.state_dict()
    assert sorted(raw["state_dict"]) == sorted(state) and len(state) > 0
    assert all(bool(torch.isfinite(v).all()) for v in state.values()) and any(bool(v.any()) for v in state.values())
    for k, v in state.items():
        stored = raw["state_dict"][k]
        assert str(stored.dtype) == str(v.dtype).replace("torch.", ""), k
        assert np.array_equal(stored, v.numpy()), k
