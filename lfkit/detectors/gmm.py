"""Gaussian mixture log-likelihood, optionally calibrated into a probability."""

from __future__ import annotations

import numpy as np

from lfkit.config import DETECTOR_DEFAULTS
from lfkit.errors import DataError, ParameterError, check_choice, check_positive_int

from lfkit.detectors.base import Detector, _check_fraction, _logsumexp


class GMMDetector(Detector):
    """Gaussian mixture log-likelihood (scikit-learn ``GaussianMixture``), optionally calibrated.

    Parameters
    ----------
    n_components : int
        Mixture components; needs at least this many training samples.
    covariance_type : str
        ``"spherical"`` (one variance per component) or ``"diag"``.
    max_iter : int
        EM iterations.
    random_state : int
        Seed of the initialisation and of the calibration split.
    calibration : bool
        Fit an isotonic map from log-likelihood to the probability of the
        target class when ``fit`` gets negatives ``X_neg``.
    contamination : float
        Quantile of training scores used as ``threshold_``, in (0, 0.5].
    cal_fraction : float
        Share of ``X`` held out as calibration positives when ``X_cal`` is not given.

    Notes
    -----
    Calibration: the mixture is fitted on ``X`` (minus the held-out share),
    then ``IsotonicRegression(out_of_bounds="clip")`` maps the scores of the
    held-out positives (label 1) and of ``X_neg`` (label 0) to a probability,
    stored as ``X_thresholds_``/``y_thresholds_`` and applied with ``np.interp``.
    """

    name = "gmm"
    score_kind = "log_likelihood"

    def __init__(self, n_components=DETECTOR_DEFAULTS.n_components, covariance_type="spherical", max_iter=100,
                 random_state=0, calibration=True, contamination=DETECTOR_DEFAULTS.contamination, cal_fraction=0.25):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.max_iter = max_iter
        self.random_state = random_state
        self.calibration = calibration
        self.contamination = contamination
        self.cal_fraction = cal_fraction

    def _validate_params(self):
        check_positive_int("n_components", self.n_components)
        check_positive_int("max_iter", self.max_iter)
        check_choice("covariance_type", self.covariance_type, ("spherical", "diag"))
        _check_fraction("contamination", self.contamination, 0.5)
        _check_fraction("cal_fraction", self.cal_fraction, 0.9)
        if not isinstance(self.calibration, bool):
            raise ParameterError(f"calibration={self.calibration!r} must be True or False")

    def _fit_model(self, Z, Z_neg, Z_cal):
        from sklearn.isotonic import IsotonicRegression
        from sklearn.mixture import GaussianMixture

        calibrate = self.calibration and Z_neg is not None
        if calibrate and Z_cal is None:
            rng = np.random.default_rng(self.random_state)
            order = rng.permutation(Z.shape[0])
            n_cal = max(1, int(round(self.cal_fraction * Z.shape[0])))
            Z, Z_cal = Z[order[n_cal:]], Z[order[:n_cal]]
        if Z.shape[0] < self.n_components:
            held = f" after holding out {Z_cal.shape[0]} for calibration" if calibrate else ""
            raise ParameterError(
                f"n_components={self.n_components} needs at least {self.n_components} training samples, "
                f"got {Z.shape[0]}{held}"
            )
        est = GaussianMixture(n_components=self.n_components, covariance_type=self.covariance_type,
                              max_iter=self.max_iter, random_state=self.random_state).fit(Z)
        self.estimator_ = est  # kept for reference only; scoring uses the arrays below
        self.weights_ = np.asarray(est.weights_, dtype=np.float64)
        self.means_ = np.asarray(est.means_, dtype=np.float64)
        self.precisions_ = np.asarray(est.precisions_, dtype=np.float64)
        if calibrate:
            s_pos, s_neg = self._raw_score(Z_cal), self._raw_score(Z_neg)
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
            iso.fit(np.r_[s_pos, s_neg], np.r_[np.ones(s_pos.size), np.zeros(s_neg.size)])
            self.X_thresholds_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
            self.y_thresholds_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
        return Z

    def _raw_score(self, Z):
        d = Z.shape[1]
        prec = self.precisions_
        mu = self.means_
        if prec.ndim == 1:  # spherical: one precision per component (expanded like sklearn)
            sq = (Z**2).sum(1)[:, None] - 2.0 * Z @ mu.T + (mu**2).sum(1)[None, :]
            maha = sq * prec[None, :]
            log_det = 0.5 * d * np.log(prec)
        else:  # diag
            maha = (Z**2) @ prec.T - 2.0 * Z @ (mu * prec).T + (mu**2 * prec).sum(1)[None, :]
            log_det = 0.5 * np.log(prec).sum(-1)
        log_prob = -0.5 * (d * np.log(2 * np.pi) + maha) + log_det
        return _logsumexp(log_prob + np.log(self.weights_)[None, :], axis=1)

    def predict_proba(self, X):
        """Calibrated probability of the target class, shape (n_samples,), or ``None`` if uncalibrated."""
        self._check_is_fitted()
        if not hasattr(self, "X_thresholds_"):
            return None
        return np.interp(self.score_samples(X), self.X_thresholds_, self.y_thresholds_)

    def _model_state(self):
        calibrated = hasattr(self, "X_thresholds_")
        return {
            "weights": self.weights_.copy(),
            "means": self.means_.copy(),
            "precisions": self.precisions_.copy(),
            "calibrated": calibrated,
            "X_thresholds": self.X_thresholds_.copy() if calibrated else None,
            "y_thresholds": self.y_thresholds_.copy() if calibrated else None,
        }

    def _load_model(self, st):
        self.weights_ = st.array("weights", np.float64, 1)
        k, d = self.weights_.size, self.n_features_in_
        self.means_ = st.array("means", np.float64, 2, (k, d))
        shape = (k,) if self.covariance_type == "spherical" else (k, d)
        self.precisions_ = st.array("precisions", np.float64, len(shape), shape)
        if (self.weights_ <= 0).any() or (self.precisions_ <= 0).any():
            raise DataError("detector state 'weights' and 'precisions' must be positive")
        calibrated = st.get("calibrated")
        if not isinstance(calibrated, bool):
            raise DataError("detector state 'calibrated' must be True or False")
        if calibrated:
            self.X_thresholds_ = st.array("X_thresholds", np.float64, 1)
            self.y_thresholds_ = st.array("y_thresholds", np.float64, 1, (self.X_thresholds_.size,))
            if self.X_thresholds_.size == 0 or (np.diff(self.X_thresholds_) < 0).any():
                raise DataError("detector state 'X_thresholds' must be non-empty and increasing")


