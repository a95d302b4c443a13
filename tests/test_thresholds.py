"""Validation thresholds (lfkit.thresholds), checked against scikit-learn and by brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score

from lfkit.errors import ParameterError
from lfkit.thresholds import (
    balanced_accuracy_threshold,
    eer_threshold,
    false_alarm_threshold,
    pick_threshold,
    target_quantile_threshold,
)


def _best_bacc_brute(y, s):
    return max(balanced_accuracy_score(y, (s >= t).astype(int)) for t in np.r_[np.unique(s), np.inf])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(-5, 5)), min_size=2, max_size=40))
def test_balanced_accuracy_threshold_is_the_maximum_over_candidates(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], dtype=float) / 2  # ties on purpose
    if len(np.unique(y)) < 2:
        with pytest.raises(ParameterError, match="both classes"):
            balanced_accuracy_threshold(y, s)
        return
    t, b = balanced_accuracy_threshold(y, s)
    assert balanced_accuracy_score(y, (s >= t).astype(int)) == pytest.approx(b)
    assert b == pytest.approx(_best_bacc_brute(y, s))
    assert not np.any(s == t)  # strictly between two scores: a margin on both sides


def test_balanced_accuracy_threshold_separable_sits_between_the_classes():
    y = np.array([0, 0, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    t, b = balanced_accuracy_threshold(y, s)
    assert t == pytest.approx(0.5) and b == 1.0


def test_false_alarm_threshold_keeps_the_rate():
    rng = np.random.default_rng(0)
    s = rng.normal(size=1000)
    y = (rng.random(1000) < 0.5).astype(int)
    for rate in (0.0, 0.01, 0.05, 0.2):
        t, fa = false_alarm_threshold(y, s, rate)
        measured = float((s[y == 0] >= t).mean())
        assert measured == pytest.approx(fa) and measured <= rate
        # lowest such threshold: the next lower non-target score would exceed the rate
        lower = s[(y == 0) & (s < t)].max()
        assert float((s[y == 0] >= lower).mean()) > rate


def test_eer_threshold_equal_rates_and_quantile():
    y = np.r_[np.zeros(100, int), np.ones(100, int)]
    s = np.r_[np.linspace(0, 1, 100), np.linspace(0.5, 1.5, 100)]
    t, e = eer_threshold(y, s)
    fpr = (s[y == 0] >= t).mean()
    fnr = (s[y == 1] < t).mean()
    assert abs(fpr - fnr) <= 0.02 and e == pytest.approx((fpr + fnr) / 2, abs=0.02)
    assert target_quantile_threshold(np.arange(101.0), 0.1) == pytest.approx(10.0)


@pytest.mark.parametrize("call, words", [
    (lambda: pick_threshold("f1", [0, 1], [0.1, 0.2]), "method='f1' is not known"),
    (lambda: false_alarm_threshold([0, 1], [0.1, 0.2], 1.5), "rate=1.5"),
    (lambda: pick_threshold("false_alarm", [0, 1], [0.1, 0.2]), "needs rate"),
    (lambda: balanced_accuracy_threshold([0, 1], [0.1, np.nan]), "NaN"),
    (lambda: eer_threshold([1, 1], [0.1, 0.2]), "both classes"),
])
def test_bad_input_is_refused_with_one_clear_message(call, words):
    with pytest.raises(ParameterError, match=words):
        call()


# -- the binary model's stored threshold and Spec-CNN's time-average branch -------------------------------


@pytest.fixture(scope="module")
def sh(tmp_path_factory):
    from binary_helpers import shared

    return shared(tmp_path_factory)


def test_stored_threshold_is_the_validation_one(sh):
    """Reproduce the split, score the validation clips with the saved model: same threshold, best balanced accuracy."""
    from lfkit.data import load_dataset
    from lfkit.modelfile import load_model
    from lfkit.inference.scorers import make_scorer
    from lfkit.train import stratified_split

    doc = load_model(sh.model)
    cfg = doc["training"]["config"]
    ds = load_dataset(str(sh.data))
    y = (np.array(ds.labels) == "positive").astype(int)
    _, va = stratified_split(y, cfg["val_fraction"], cfg["seed"])
    p = np.array([r["score"] for r in make_scorer(doc).score_batch(ds.X[va])])
    t, b = balanced_accuracy_threshold(y[va], p)
    assert doc["threshold"] == pytest.approx(t, abs=1e-6) and doc["threshold"] != 0.5
    assert doc["training"]["val_balanced_accuracy"] == pytest.approx(b)
    at_stored = balanced_accuracy_score(y[va], (p >= doc["threshold"]).astype(int))
    assert at_stored == pytest.approx(_best_bacc_brute(y[va], p))


def test_speccnn_mean_branch_sees_the_time_average_and_old_files_load():
    import torch

    from lfkit.models import create_model

    torch.manual_seed(0)
    plain = create_model("speccnn", n_outputs=1)
    assert create_model("speccnn", n_outputs=1).load_state_dict(plain.state_dict())  # old files: no new kwarg
    net = create_model("speccnn", n_outputs=1, mean_branch=True).eval()
    with torch.no_grad():  # silence the convolutional path: only the time-average branch is left
        for conv in (net.conv1, net.conv2, net.conv3):
            conv.weight.zero_()
            conv.bias.zero_()
    x = torch.randn(2, 1, 40, 32)
    shuffled = x[..., torch.randperm(32)]  # same time average per bin, other frames order
    other = x.clone()
    other[:, :, 5, :] += 3.0  # another time average
    with torch.no_grad():
        assert torch.allclose(net(x), net(shuffled), atol=1e-5)
        assert not torch.allclose(net(x), net(other), atol=1e-3)


def test_ensemble_scores_the_mean_probability_and_keeps_the_validation_threshold(sh, tmp_path):
    import torch

    from lfkit.config import AugmentConfig, TrainConfig
    from lfkit.data import load_dataset
    from lfkit.modelfile import load_model
    from lfkit.models import create_model
    from lfkit.inference.scorers import make_scorer
    from lfkit.train import stratified_split, train_binary

    cfg = TrainConfig(epochs=1, batch_size=8, ensemble=2, seed=4, probe=False)  # the networks alone (test_fusion)
    train_binary(str(sh.data), str(tmp_path / "e.pt"), "positive", cfg, augment=AugmentConfig(kinds=()))
    doc = load_model(tmp_path / "e.pt")
    assert len(doc["extra"]["ensemble"]) == 1  # the second member; the first is the state_dict
    ds = load_dataset(str(sh.data))
    x = torch.as_tensor(ds.X).unsqueeze(1)
    probs = []
    for state in (doc["state_dict"], doc["extra"]["ensemble"][0]):
        net = create_model(doc["arch"], **doc["arch_kwargs"])
        net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        with torch.no_grad():
            probs.append(torch.sigmoid(net.eval()(x).double())[:, 0].numpy())
    assert not np.allclose(probs[0], probs[1])  # two seeds, two networks
    score = np.array([r["score"] for r in make_scorer(doc).score_batch(ds.X)])
    assert np.allclose(score, np.mean(probs, axis=0), atol=1e-6)
    y = (np.array(ds.labels) == "positive").astype(int)
    _, va = stratified_split(y, cfg.val_fraction, cfg.seed)
    assert doc["threshold"] == pytest.approx(balanced_accuracy_threshold(y[va], score[va])[0], abs=1e-6)
