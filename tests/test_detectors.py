"""One-class detectors: sign, thresholds, errors, and pickle-free states that match scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from lfkit.detectors import (
    DETECTORS,
    Detector,
    GMMDetector,
    OCSVMDetector,
    _to_target_score,
    create_detector,
    detector_names,
)
from lfkit.errors import DataError, LfkitError, ParameterError

#: Small enough for a fast test suite; gmm needs no more samples than components.
FAST_PARAMS = {"ocsvm": {"gamma": "scale"}, "gmm": {"n_components": 3}, "iforest": {"n_estimators": 20}}


def blob(n=200, seed=0, d=2):
    """A 2-D gaussian target class with unequal feature scales and an offset."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * np.linspace(1.0, 3.0, d) + 10.0


def far_outliers(d=2):
    return 10.0 + np.array([[40.0] * d, [-40.0] * d, [40.0] + [-40.0] * (d - 1)])


@pytest.fixture(scope="module", params=detector_names())
def fitted(request):
    name = request.param
    X = blob()
    X_neg = blob(60, seed=1) + 8.0
    return name, create_detector(name, **FAST_PARAMS[name]).fit(X, X_neg=X_neg), X


def native_score(det, X):
    """scikit-learn's own score on the detector's standardised features."""
    Z = (X - det.mean_) / det.scale_
    if det.name == "gmm":
        return det.estimator_.score_samples(Z)
    return det.estimator_.decision_function(Z)


def to_jsonable(state):
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in state.items()}


def test_module_import_does_not_import_sklearn():
    code = "import sys, lfkit.detectors; sys.exit(any(m.startswith('sklearn') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_registry():
    assert detector_names() == ["ocsvm", "gmm", "iforest"]
    assert all(DETECTORS[n].name == n for n in detector_names())
    with pytest.raises(ParameterError, match="ocsvm, gmm, iforest"):
        create_detector("lof")
    with pytest.raises(ParameterError, match="n_components"):
        create_detector("ocsvm", n_components=3)


def test_sign_conversion_is_one_function():
    raw = np.array([-1.0, 2.0])
    np.testing.assert_array_equal(_to_target_score(raw, "decision_function"), raw)
    np.testing.assert_array_equal(_to_target_score(raw, "log_likelihood"), raw)
    np.testing.assert_array_equal(_to_target_score(raw, "anomaly_score"), -raw)
    with pytest.raises(ParameterError, match="kind='x'"):
        _to_target_score(raw, "x")


def test_estimator_contract(fitted):
    name, det, _ = fitted
    params = det.get_params()
    assert type(det)(**params).get_params() == params
    fresh = create_detector(name)
    assert not [a for a in vars(fresh) if a.endswith("_")]
    with pytest.raises(LfkitError, match="not fitted"):
        fresh.score_samples(blob(5))
    assert fresh.fit(blob(60)) is fresh


def test_target_scores_higher_than_outliers(fitted):
    _, det, X = fitted
    inliers = det.score_samples(np.full((1, 2), 10.0))
    assert (det.score_samples(far_outliers()) < inliers).all()
    assert not det.decision(far_outliers()).any()
    assert det.decision(np.full((1, 2), 10.0)).all()


@pytest.mark.parametrize("name", detector_names())
def test_training_decision_rate_follows_quantile(name):
    X = blob(400, seed=3)
    det = create_detector(name, **FAST_PARAMS[name]).fit(X)  # no negatives: gmm trains on all of X
    q = det.nu if name == "ocsvm" else det.contamination
    assert det.decision(X).mean() == pytest.approx(1 - q, abs=0.01)
    assert det.decision(X).dtype == bool


def test_pure_numpy_scores_match_sklearn(fitted):
    _, det, X = fitted
    X_test = np.r_[X[:50], blob(50, seed=7) * 1.5, far_outliers()]
    np.testing.assert_allclose(det.score_samples(X_test), native_score(det, X_test), rtol=0, atol=1e-8)


def test_state_round_trip_is_exact_and_plain(fitted):
    name, det, X = fitted
    state = det.to_state()
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            assert value.dtype in (np.float64, np.int64), key
        else:
            assert value is None or isinstance(value, (str, int, float, bool, dict, list)), key
    assert all(v is None or isinstance(v, (str, int, float, bool)) for v in state["params"].values())
    X_test = np.r_[X, far_outliers()]
    for rebuilt in (Detector.from_state(state), DETECTORS[name].from_state(state),
                    Detector.from_state(json.loads(json.dumps(to_jsonable(state))))):
        assert type(rebuilt) is type(det) and not hasattr(rebuilt, "estimator_")
        np.testing.assert_array_equal(rebuilt.score_samples(X_test), det.score_samples(X_test))
        np.testing.assert_array_equal(rebuilt.decision(X_test), det.decision(X_test))
        assert rebuilt.threshold_ == det.threshold_
        p0, p1 = det.predict_proba(X_test), rebuilt.predict_proba(X_test)
        assert (p0 is None and p1 is None) or np.array_equal(p0, p1)


def test_state_survives_torch_weights_only(fitted, tmp_path):
    torch = pytest.importorskip("torch")
    _, det, X = fitted
    tensors = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in det.to_state().items()}
    torch.save({"detector": tensors}, tmp_path / "m.pt")
    loaded = torch.load(tmp_path / "m.pt", weights_only=True)["detector"]
    np.testing.assert_array_equal(Detector.from_state(loaded).score_samples(X), det.score_samples(X))


def test_from_state_wrong_class_is_data_error(fitted):
    name, det, _ = fitted
    other = next(k for k in DETECTORS if k != name)
    with pytest.raises(DataError, match=name):
        DETECTORS[other].from_state(det.to_state())


MALFORMATIONS = {
    "missing mean": lambda s: s.pop("mean"),
    "unknown detector": lambda s: s.update(detector="lof"),
    "mean wrong shape": lambda s: s.update(mean=np.zeros((2, 2))),
    "scale wrong length": lambda s: s.update(scale=np.ones(5)),
    "threshold a string": lambda s: s.update(threshold="high"),
    "params not a dict": lambda s: s.update(params=[1, 2]),
    "unknown param": lambda s: s.update(params={"bogus": 1}),
    "nan in mean": lambda s: s.update(mean=np.array([np.nan, 0.0])),
    "future version": lambda s: s.update(state_version=99),
    "not a dict": None,
}
MODEL_MALFORMATIONS = {
    "ocsvm": {"support_vectors": np.zeros((4, 3)), "dual_coef": np.zeros(2), "gamma": -1.0},
    "gmm": {"means": np.zeros((3, 5)), "precisions": np.array([1.0, -1.0, 1.0]), "calibrated": "yes"},
    "iforest": {"tree_children_left": np.zeros(3, dtype=np.int64), "tree_offsets": np.array([3, 2]),
                "estimators_features": np.full((20, 2), 7), "tree_feature": "abc"},
}


@pytest.mark.parametrize("how", list(MALFORMATIONS))
def test_malformed_state_is_data_error(fitted, how):
    _, det, _ = fitted
    state = det.to_state()
    if MALFORMATIONS[how] is None:
        state = list(state.items())
    else:
        MALFORMATIONS[how](state)
    with pytest.raises(DataError):
        Detector.from_state(state)


def test_malformed_model_arrays_are_data_errors(fitted):
    name, det, X = fitted
    for key, bad in MODEL_MALFORMATIONS[name].items():
        state = det.to_state()
        state[key] = bad
        with pytest.raises(DataError, match=key):
            Detector.from_state(state).score_samples(X)


def test_iforest_cyclic_tree_is_rejected():
    det = create_detector("iforest", n_estimators=2).fit(blob())
    state = det.to_state()
    left = state["tree_children_left"].copy()
    inner = np.flatnonzero(left[: state["tree_offsets"][1]] != -1)
    left[inner[-1]] = 0  # points back at the root: would loop forever
    state["tree_children_left"] = left
    with pytest.raises(DataError, match="children"):
        Detector.from_state(state)


@pytest.mark.parametrize("name", detector_names())
def test_bad_data(name):
    det = create_detector(name, **FAST_PARAMS[name])
    X = blob(40)
    X[3, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        det.fit(X)
    X[3, 1] = np.inf
    with pytest.raises(DataError, match="infinite"):
        det.fit(X)
    with pytest.raises(DataError, match="features are constant"):
        det.fit(np.ones((40, 3)))
    with pytest.raises(DataError, match="2-D"):
        det.fit(np.arange(10.0))
    det.fit(blob(40))
    with pytest.raises(DataError, match="3 features"):
        det.score_samples(np.zeros((2, 3)))
    with pytest.raises(DataError, match="NaN"):
        det.score_samples(np.full((2, 2), np.nan))


def test_zero_variance_column_gets_scale_one():
    X = np.c_[blob(80), np.full(80, 4.0)]
    det = create_detector("ocsvm").fit(X)
    assert det.scale_[2] == 1.0
    assert np.isfinite(det.score_samples(X)).all()


@pytest.mark.parametrize("nu", [1.5, 1, 0, -0.1, "a"])
def test_ocsvm_nu_range(nu):
    with pytest.raises(ParameterError, match=f"nu={nu!r}"):
        OCSVMDetector(nu=nu).fit(blob(20))
    with pytest.raises(ParameterError, match=r"must be .*\(0, 1\)$"):
        create_detector("ocsvm", nu=nu)


def test_ocsvm_nu_message_states_the_open_interval():
    """nu = 1 is refused too (the one-class SVM has no boundary there), so the message says (0, 1), not (0, 1]."""
    with pytest.raises(ParameterError, match=r"^nu=1.5 must be in \(0, 1\)$"):
        create_detector("ocsvm", nu=1.5)


def test_ocsvm_gamma_scale_and_string():
    from sklearn.svm import OneClassSVM

    X = blob()
    det = OCSVMDetector(gamma="scale").fit(X)
    Z = (X - det.mean_) / det.scale_
    assert det.gamma_ == pytest.approx(1.0 / (Z.shape[1] * Z.var()))
    ref = OneClassSVM(nu=det.nu, gamma="scale").fit(Z)
    np.testing.assert_allclose(det.score_samples(X), ref.decision_function(Z), atol=1e-8)
    assert OCSVMDetector(gamma="0.5").fit(X).gamma_ == 0.5  # OneClassConfig stores gamma as a string
    with pytest.raises(ParameterError, match="gamma='wide'"):
        OCSVMDetector(gamma="wide").fit(X)
    with pytest.raises(ParameterError, match="kernel='poly'"):
        create_detector("ocsvm", kernel="poly")


def test_gmm_too_few_samples_names_n_components():
    with pytest.raises(ParameterError, match=r"n_components=18 .*got 10"):
        GMMDetector().fit(blob(10))
    with pytest.raises(ParameterError, match="covariance_type='full'"):
        create_detector("gmm", covariance_type="full")


def test_gmm_calibration():
    X, X_neg = blob(200), blob(100, seed=5) + 6.0
    assert GMMDetector(n_components=3).fit(X).predict_proba(X) is None
    assert GMMDetector(n_components=3, calibration=False).fit(X, X_neg=X_neg).predict_proba(X) is None
    det = GMMDetector(n_components=3).fit(X, X_neg=X_neg)
    p_pos, p_neg = det.predict_proba(blob(100, seed=9)), det.predict_proba(X_neg)
    assert ((p_pos >= 0) & (p_pos <= 1)).all()
    assert p_pos.mean() > 0.8 and p_neg.mean() < 0.2
    # monotone in the score, clipped to the end values outside the calibration range
    grid = np.linspace(-8, 8, 41)[:, None] * [1.0, 1.0] + 10.0
    order = np.argsort(det.score_samples(grid))
    assert (np.diff(det.predict_proba(grid)[order]) >= 0).all()
    assert det.predict_proba(far_outliers())[0] == det.y_thresholds_[0]
    # explicit held-out positives: the mixture then sees all of X
    X_cal = blob(50, seed=11)
    det_cal = GMMDetector(n_components=3).fit(X, X_neg=X_neg, X_cal=X_cal)
    assert det_cal.decision(X).mean() == pytest.approx(1 - det_cal.contamination, abs=0.01)
    # the stored isotonic map is scikit-learn's IsotonicRegression(out_of_bounds="clip")
    from sklearn.isotonic import IsotonicRegression

    s_cal, s_neg = native_score(det_cal, X_cal), native_score(det_cal, X_neg)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
        np.r_[s_cal, s_neg], np.r_[np.ones(50), np.zeros(100)])
    X_test = np.r_[grid, X_neg, far_outliers()]
    np.testing.assert_allclose(det_cal.predict_proba(X_test), iso.predict(native_score(det_cal, X_test)), atol=1e-8)


def test_failed_fit_leaves_detector_unfitted():
    det = GMMDetector(n_components=3).fit(blob(50))
    with pytest.raises(ParameterError, match="n_components=3"):
        det.fit(blob(2))
    with pytest.raises(LfkitError, match="not fitted"):
        det.score_samples(blob(5))


def test_gmm_diag_round_trip():
    X = blob(150, d=3)
    det = GMMDetector(n_components=2, covariance_type="diag").fit(X)
    np.testing.assert_allclose(det.score_samples(X), native_score(det, X), atol=1e-8)
    np.testing.assert_array_equal(Detector.from_state(det.to_state()).score_samples(X), det.score_samples(X))


def test_iforest_matches_sklearn_score_samples_and_offset():
    X = blob(300, d=4)
    det = create_detector("iforest", n_estimators=15, random_state=3).fit(X)
    Z = (X - det.mean_) / det.scale_
    est = det.estimator_
    np.testing.assert_allclose(det.score_samples(X) + det.offset_, est.score_samples(Z), atol=1e-8)
    assert det.offset_ == est.offset_
    assert det.estimators_features_.shape == (15, 4)
