"""Fuzzed readers and tampered model files: a DataError (one clean line), never another exception.

hypothesis mutates valid WAV, FLAC and NPY bytes (truncations, flipped
bytes, random bytes) and the fields of a valid model file. Each property runs
a few dozen examples, so the file stays within a few seconds.
"""

from __future__ import annotations

import io as _io

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lfkit import io
from lfkit.errors import DataError

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _encoded(fmt: str, subtype: str) -> bytes:
    y = np.sin(2 * np.pi * 440 * np.arange(2000) / 8000).astype(np.float32) * 0.5
    buf = _io.BytesIO()
    sf.write(buf, y, 8000, format=fmt, subtype=subtype)
    return buf.getvalue()


SEEDS = {"wav16": _encoded("WAV", "PCM_16"), "wavfloat": _encoded("WAV", "FLOAT"), "flac": _encoded("FLAC", "PCM_16"),
         "npy": io.encode_npy(np.arange(12, dtype=np.float32).reshape(3, 4))}


@st.composite
def mutated(draw, seed: bytes):
    """``seed`` truncated, with some bytes replaced, or with random bytes appended."""
    data = bytearray(seed)
    how = draw(st.sampled_from(["truncate", "flip", "append", "random"]))
    if how == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    elif how == "append":
        data += draw(st.binary(min_size=1, max_size=64))
    else:
        data = bytearray(draw(st.binary(max_size=256)))
    return bytes(data)


def _read_only_data_errors(reader, data: bytes) -> None:
    try:
        out = reader(data)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    assert out is not None


@pytest.mark.parametrize("kind", ["wav16", "wavfloat", "flac"])
def test_audio_reader_refuses_damaged_bytes_cleanly(kind):
    @FUZZ
    @given(mutated(SEEDS[kind]))
    def run(data):
        def read(d):
            y, sr = io.read_audio("fuzz", data=d)
            assert np.isfinite(y).all() and sr > 0
            return y

        _read_only_data_errors(read, data)

    run()


def test_npy_reader_refuses_damaged_bytes_cleanly():
    @FUZZ
    @given(mutated(SEEDS["npy"]))
    def run(data):
        _read_only_data_errors(lambda d: io.read_npy("fuzz", data=d), data)

    run()


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory) -> bytes:
    """A tiny real model file (speccnn untrained weights: the loader does not care)."""
    from lfkit.config import FrontendConfig
    from lfkit.modelfile import save_model
    from lfkit.models import create_model

    net = create_model("lenet", n_outputs=1)
    p = tmp_path_factory.mktemp("fuzzmodel") / "m.pt"
    save_model(p, "binary", FrontendConfig(), {"kind": "spectrogram", "sr": 8000, "n_samples": 4000, "shape": [93, 10]},
               arch="lenet", arch_kwargs=net.arch_kwargs, state_dict=net.state_dict(), classes=["n", "p"],
               positive="p", threshold=0.5)
    return p.read_bytes()


def _load_and_build(path):
    from lfkit.modelfile import build_network, load_model
    from lfkit.inference.scorers import make_scorer

    doc = load_model(path)
    make_scorer(doc)
    return build_network(doc)


def test_damaged_model_bytes_give_one_data_error(model_bytes, tmp_path):
    @settings(max_examples=25, deadline=None)
    @given(mutated(model_bytes))
    def run(data):
        p = tmp_path / "m.pt"
        p.write_bytes(data)
        try:
            _load_and_build(p)
        except DataError as exc:
            assert "\n" not in str(exc)

    run()


#: Values a tampered field may take: wrong types, non-finite numbers, huge sizes.
ODD = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True, allow_infinity=True),
                st.text(max_size=8), st.lists(st.integers(-5, 10**7), max_size=3),
                st.dictionaries(st.text(max_size=4), st.integers(-5, 10**7), max_size=2))


def test_tampered_model_fields_give_one_data_error(model_bytes, tmp_path):
    from lfkit.modelfile import read_raw, write_raw

    base = read_raw("m.pt", model_bytes)
    fields = ["regime", "arch", "threshold", "classes", "positive", "format_version", "extra", "training"]
    nested = [("arch_kwargs", "hidden"), ("arch_kwargs", "embedding_dim"), ("input", "sr"), ("input", "shape"),
              ("input", "n_samples"), ("input", "kind"), ("frontend", "n_fft"), ("frontend", "fmin"),
              ("frontend", "hop_length"), ("frontend", "kind")]

    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from(fields + nested), ODD)
    def run(where, value):
        import copy

        doc = copy.deepcopy(base)
        if isinstance(where, tuple):
            doc[where[0]][where[1]] = value
        else:
            doc[where] = value
        p = tmp_path / "t.pt"
        write_raw(doc, p)
        try:
            _load_and_build(p)
        except DataError as exc:
            assert "\n" not in str(exc)

    run()
