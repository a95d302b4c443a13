"""Inference apart from training: classical models score without torch, the model
file (format 2) reads old files through its migration hook, and the shared
threshold rules decide their edge cases in one place."""

from __future__ import annotations

import io as _io
import json
import subprocess
import sys

import numpy as np
import pytest

from lfkit import MODEL_FORMAT_VERSION, __version__
from lfkit.errors import DataError, ParameterError
from lfkit.inference.modelfile import FORMAT_TAG, MIGRATIONS, load_model, read_raw, save_model, write_raw

#: Runs ``lfkit ARGS`` with torch made unimportable, then says whether torch got into sys.modules.
NO_TORCH = """
import sys
sys.modules["torch"] = None  # any 'import torch' now raises ImportError
sys.argv = ["lfkit", *sys.argv[1:]]
from lfkit_cli.main import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stderr.write("TORCH_LOADED=%s\\n" % (sys.modules.get("torch") is not None))
sys.exit(code)
"""


def _no_torch(*args, cwd=None):
    return subprocess.run([sys.executable, "-c", NO_TORCH, *map(str, args)], capture_output=True, cwd=cwd,
                          timeout=300)


def _records(data: bytes) -> list:
    return [json.loads(line) for line in data.decode().splitlines()]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """16 clips of 0.2 s (8 positive), seed 0."""
    from lfkit.config import SynthConfig
    from lfkit.synth import synthesize

    out = tmp_path_factory.mktemp("inference") / "clips"
    synthesize(str(out), SynthConfig(duration_s=0.2), snr="-20:-10", seed=0, positive="120,340,777", n=16)
    return out


@pytest.fixture(scope="module")
def classical(tmp_path_factory, clips, lfkit_fast):
    """logreg, knowntone and raw+ocsvm / raw+gmm one-class models of the 16 clips."""
    small_set = clips
    root = tmp_path_factory.mktemp("classical")
    models = {}
    for name, args in {
        "logreg": ["train-binary", small_set, "--arch", "logreg", "--positive", "positive"],
        "knowntone": ["train-binary", small_set, "--arch", "knowntone", "--positive", "positive",
                      "--tones", "120,340,777"],
        "ocsvm": ["train-oneclass", small_set, "--extractor", "raw", "--detector", "ocsvm", "--positive", "positive"],
        "gmm": ["train-oneclass", small_set, "--extractor", "raw", "--detector", "gmm", "--positive", "positive",
                "--n-components", "1"],
    }.items():
        out = root / f"{name}.pt"
        r = lfkit_fast(*args, "-o", out, "-q")
        assert r.returncode == 0, (name, r.stderr.decode())
        models[name] = out
    return models


@pytest.mark.parametrize("name", ["logreg", "knowntone", "ocsvm", "gmm"])
def test_classical_model_scores_without_torch(classical, clips, name, lfkit):
    normal = lfkit("score", classical[name], clips)
    assert normal.returncode == 0, normal.stderr.decode()
    bare = _no_torch("score", classical[name], clips)
    assert bare.returncode == 0, bare.stderr.decode()
    assert "TORCH_LOADED=False" in bare.stderr.decode()
    recs = _records(bare.stdout)
    assert len(recs) == 16 and recs == _records(normal.stdout)


def test_the_no_torch_wrapper_can_fail(tmp_path, clips):
    # a network model needs torch: under the wrapper it must not score (so the test above can fail)
    from lfkit.config import FrontendConfig
    from lfkit.models import create_model

    net = create_model("lenet", n_outputs=1)
    p = tmp_path / "net.pt"
    save_model(p, "binary", FrontendConfig(), {"kind": "spectrogram", "sr": 44100, "n_samples": 8820,
                                               "shape": [93, 10]},
               arch="lenet", arch_kwargs=net.arch_kwargs, state_dict=net.state_dict(), classes=["n", "p"],
               positive="p", threshold=0.5)
    r = _no_torch("score", p, clips)
    assert r.returncode != 0


# ------------------------------------------------------------------ the model file


def _old_save(path, doc_fields: dict) -> None:
    """The format-1 writer as it was: torch.save of the dictionary, numpy arrays as {"__ndarray__": tensor}."""
    import torch

    def storable(obj):
        if isinstance(obj, np.ndarray):
            return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(obj))}
        if isinstance(obj, dict):
            return {str(k): storable(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [storable(v) for v in obj]
        return obj

    doc = dict(doc_fields, format=FORMAT_TAG, format_version=1, lfkit_version="0.1.0",
               extra=storable(doc_fields.get("extra") or {}))
    buf = _io.BytesIO()
    torch.save(doc, buf)
    path.write_bytes(buf.getvalue())


def _fields(net, extra):
    from lfkit.config import FrontendConfig

    return {"regime": "binary", "arch": "lenet", "arch_kwargs": net.arch_kwargs,
            "state_dict": {k: v.clone() for k, v in net.state_dict().items()}, "frontend": FrontendConfig().to_dict(),
            "input": {"kind": "spectrogram", "sr": 8000, "n_samples": 4000, "shape": [93, 10]},
            "classes": ["n", "p"], "positive": "p", "threshold": 0.25, "training": {"epochs_run": 1},
            "extra": extra}


def test_format_1_files_load_through_the_migration_hook(tmp_path):
    import torch

    from lfkit.config import FrontendConfig
    from lfkit.inference.modelfile import build_network
    from lfkit.models import create_model

    torch.manual_seed(0)
    net = create_model("lenet", n_outputs=1)
    member = create_model("lenet", n_outputs=1)
    extra = {"tones": np.array([120.0, 340.0]), "ensemble": [member.state_dict()]}
    old, new = tmp_path / "old.pt", tmp_path / "new.pt"
    _old_save(old, _fields(net, extra))
    f = _fields(net, extra)
    save_model(new, "binary", FrontendConfig(), f["input"], arch="lenet", arch_kwargs=net.arch_kwargs,
               state_dict=net.state_dict(), classes=["n", "p"], positive="p", threshold=0.25,
               training={"epochs_run": 1}, extra=extra)
    assert MIGRATIONS[1] and MODEL_FORMAT_VERSION == 2
    a, b = load_model(old), load_model(new)
    assert a["format_version"] == b["format_version"] == MODEL_FORMAT_VERSION
    assert a["threshold"] == b["threshold"] == 0.25 and a["frontend"] == b["frontend"]
    assert isinstance(a["extra"]["tones"], np.ndarray) and np.array_equal(a["extra"]["tones"], [120.0, 340.0])
    for k, v in net.state_dict().items():
        assert isinstance(a["state_dict"][k], np.ndarray) and np.array_equal(a["state_dict"][k], v.numpy())
        assert np.array_equal(b["state_dict"][k], v.numpy())
    x = torch.randn(3, 1, 93, 10)
    with torch.no_grad():
        assert torch.equal(build_network(a)(x), build_network(b)(x))


def test_saving_twice_gives_the_same_bytes_and_no_pickle(tmp_path):
    from lfkit.config import FrontendConfig

    kw = dict(classes=["p"], positive="p", threshold=0.1,
              extra={"mean": np.arange(4.0), "coef": np.ones(4), "intercept": 0.5, "scale": np.ones(4)})
    info = {"kind": "spectrogram", "sr": 8000, "n_samples": 4000, "shape": [4, 3]}
    a = save_model(tmp_path / "a.pt", "baseline", FrontendConfig(), info, **kw)
    save_model(tmp_path / "b.pt", "baseline", FrontendConfig(), info, **kw)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    with np.load(tmp_path / "a.pt", allow_pickle=False) as z:
        assert set(z.files) == {"header", "a0", "a1", "a2"}
    assert a["format_version"] == MODEL_FORMAT_VERSION and load_model(tmp_path / "a.pt")["lfkit_version"] == __version__


def test_an_object_array_in_the_archive_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    good = tmp_path / "good.pt"
    write_raw({"format": FORMAT_TAG, "format_version": 2}, good)
    bad = tmp_path / "evil.pt"
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["a0"] = np.array([Payload()], dtype=object)
    with open(bad, "wb") as fh:
        np.savez(fh, **arrays)  # allow_pickle on write: the object array is pickled into the member
    with np.load(bad, allow_pickle=True) as z:  # the unsafe way runs the payload (so this test can fail)
        z["a0"]
    assert marker.exists()
    marker.unlink()
    with pytest.raises(DataError, match="evil.pt.*refused"):
        load_model(bad)
    assert not marker.exists()


def test_missing_array_and_non_zip_are_data_errors(tmp_path):
    p = tmp_path / "m.pt"
    write_raw({"format": FORMAT_TAG, "x": {"__array__": "a9"}}, p)
    with pytest.raises(DataError, match="array 'a9' is missing"):
        read_raw(p)
    p.write_bytes(b"not a zip at all" * 4)
    with pytest.raises(DataError, match="not a readable lfkit model"):
        load_model(p)
    assert "torch" not in _imported_after(f"from lfkit.inference.modelfile import read_raw\ntry:\n    read_raw({str(p)!r})\nexcept Exception:\n    pass")


def _imported_after(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode().split()


def test_loading_inference_imports_neither_torch_nor_training():
    mods = _imported_after("import lfkit.inference, lfkit.scoring")
    assert "torch" not in mods and "sklearn" not in mods
    assert not {"lfkit.train", "lfkit.oneclass", "lfkit.siamese_train", "lfkit.baselines"} & set(mods)


# ------------------------------------------------------------------ thresholds: one rule, edge cases decided


def test_nu_1_threshold_is_the_highest_target_score():
    from lfkit.detectors import create_detector
    from lfkit.thresholds import target_quantile_threshold

    # decided: miss_rate (a detector's nu or contamination) 1 keeps only clips scoring at least the best target
    assert target_quantile_threshold([3.0, 1.0, 2.0], 1) == 3.0
    assert target_quantile_threshold([3.0, 1.0, 2.0], 1.0) == 3.0
    assert target_quantile_threshold([3.0, 1.0, 2.0], 0) == 1.0
    with pytest.raises(ParameterError, match="miss_rate=1.5"):
        target_quantile_threshold([1.0], 1.5)
    with pytest.raises(ParameterError, match="finite"):
        target_quantile_threshold([1.0, float("nan")], 0.5)
    # the detectors' threshold is that rule (np.quantile at nu / contamination, as before)
    X = np.random.default_rng(0).normal(size=(40, 3))
    for name, kw, q in (("ocsvm", {"nu": 0.25}, 0.25), ("iforest", {"contamination": 0.1, "random_state": 0}, 0.1)):
        det = create_detector(name, **kw).fit(X)
        assert det.threshold_ == float(np.quantile(det.score_samples(X), q))


def test_absent_eer_threshold_is_none_for_siamese_validation_and_an_error_elsewhere():
    from lfkit.siamese_train import verification
    from lfkit.thresholds import eer_threshold

    with pytest.raises(ParameterError, match="both classes"):
        eer_threshold([0, 0, 0], [0.1, 0.2, 0.3])
    assert eer_threshold([0, 0, 0], [0.1, 0.2, 0.3], one_class="none") == (None, None)
    from lfkit.metrics import eer

    rate, th = eer([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])
    assert eer_threshold([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == (th, rate)
    E = np.eye(3, dtype=np.float32)  # three clips of three identities: no same-identity pair
    rec = verification(E, np.array([0, 1, 2]))
    assert rec == {"val_auc": None, "val_eer": None, "val_threshold": None}
    rec = verification(np.array([[0, 0], [0, 0.1], [5, 5], [5, 5.1]], np.float32), np.array([0, 0, 1, 1]))
    assert rec["val_eer"] == 0.0 and rec["val_auc"] == 1.0 and rec["val_threshold"] is not None
