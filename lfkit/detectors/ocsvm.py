"""One-class SVM (RBF kernel), scored in numpy from its support vectors."""

from __future__ import annotations

import numpy as np

from lfkit.config import DETECTOR_DEFAULTS
from lfkit.errors import DataError, ParameterError

from lfkit.detectors.base import Detector, _check_fraction


class OCSVMDetector(Detector):
    """One-class SVM with an RBF kernel (scikit-learn ``OneClassSVM``).

    Parameters
    ----------
    nu : float
        Upper bound on the fraction of training outliers, in (0, 1) (at 1 every training point is a
        bounded support vector and scikit-learn's fit fails); also the
        quantile of training scores used as ``threshold_``.
    gamma : float, str
        RBF width on standardised features: a positive number (or a string
        holding one, as the config stores it) or ``"scale"``, which is
        ``1 / (n_features * Z.var())`` over the standardised training set
        (scikit-learn's rule), stored as the number ``gamma_``.
    kernel : str
        Only ``"rbf"``, the kernel the numpy scorer implements.

    Notes
    -----
    The score is the SVM decision function
    ``sum_i dual_coef_[i] * exp(-gamma_ * ||z - support_vectors_[i]||^2) + intercept_``.
    """

    name = "ocsvm"
    score_kind = "decision_function"
    quantile_param = "nu"

    def __init__(self, nu=DETECTOR_DEFAULTS.nu, gamma=DETECTOR_DEFAULTS.gamma, kernel="rbf"):
        self.nu = nu
        self.gamma = gamma
        self.kernel = kernel

    def _gamma_value(self):
        """The numeric gamma, or the string ``"scale"``."""
        g = self.gamma
        if isinstance(g, str):
            if g == "scale":
                return g
            try:
                g = float(g)
            except ValueError:
                raise ParameterError(f"gamma={self.gamma!r} must be a positive number or 'scale'") from None
        if isinstance(g, bool) or not isinstance(g, (int, float, np.floating, np.integer)) or not np.isfinite(g) or g <= 0:
            raise ParameterError(f"gamma={self.gamma!r} must be a positive number or 'scale'")
        return float(g)

    def _validate_params(self):
        _check_fraction("nu", self.nu, 1.0, closed=False)  # at 1 the one-class SVM has no boundary
        self._gamma_value()
        if self.kernel != "rbf":
            raise ParameterError(f"kernel={self.kernel!r} is not supported; choose one of: rbf")

    def _fit_model(self, Z, Z_neg, Z_cal):
        from sklearn.svm import OneClassSVM

        gamma = self._gamma_value()
        if gamma == "scale":
            var = float(Z.var())
            gamma = 1.0 / (Z.shape[1] * var) if var > 0 else 1.0
        self.gamma_ = float(gamma)
        est = OneClassSVM(kernel="rbf", nu=float(self.nu), gamma=self.gamma_).fit(Z)
        self.estimator_ = est  # kept for reference only; scoring uses the arrays below
        self.support_vectors_ = np.asarray(est.support_vectors_, dtype=np.float64)
        self.dual_coef_ = np.asarray(est.dual_coef_, dtype=np.float64).ravel()
        self.intercept_ = float(np.ravel(est.intercept_)[0])
        return Z

    def _raw_score(self, Z):
        sv = self.support_vectors_
        d2 = (Z**2).sum(1)[:, None] + (sv**2).sum(1)[None, :] - 2.0 * Z @ sv.T
        K = np.exp(-self.gamma_ * np.maximum(d2, 0.0))
        return K @ self.dual_coef_ + self.intercept_

    def _model_state(self):
        return {
            "gamma": self.gamma_,
            "support_vectors": self.support_vectors_.copy(),
            "dual_coef": self.dual_coef_.copy(),
            "intercept": self.intercept_,
        }

    def _load_model(self, st):
        self.gamma_ = st.scalar("gamma", float)
        if self.gamma_ <= 0:
            raise DataError(f"detector state 'gamma'={self.gamma_!r} must be positive")
        self.support_vectors_ = st.array("support_vectors", np.float64, 2, (None, self.n_features_in_))
        self.dual_coef_ = st.array("dual_coef", np.float64, 1, (self.support_vectors_.shape[0],))
        self.intercept_ = st.scalar("intercept", float)


