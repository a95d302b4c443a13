"""One-class anomaly detectors on embeddings, stored without pickle.

Three detectors, built by name from :data:`DETECTORS` (:func:`create_detector`):
``ocsvm`` (one-class SVM, RBF kernel), ``gmm`` (Gaussian mixture
log-likelihood, optionally calibrated into a probability) and ``iforest``
(isolation forest). They follow scikit-learn's estimator contract: parameters
are stored as given in ``__init__``, fitted state lives in attributes ending in
``_``, and ``fit`` returns ``self``. scikit-learn is imported inside ``fit``
only, so importing this module (and scoring a loaded model) stays fast.

Sign convention
---------------
lfkit has one sign: :meth:`Detector.score_samples` is **higher = more like the
training (target) class**. Each library's native score is converted in exactly
one place, :func:`_to_target_score`.

Thresholds
----------
``threshold_`` is the score at the ``nu`` (ocsvm) or ``contamination`` (gmm,
iforest) quantile of the training scores, so about that fraction of the
training positives falls below it; :meth:`Detector.decision` is
``score_samples(X) >= threshold_``.

Storage
-------
After ``fit`` every detector scores with pure numpy from its fitted arrays
alone (the scikit-learn estimator is kept as ``estimator_`` for reference).
:meth:`Detector.to_state` returns those arrays (float64/int64 numpy arrays and
plain Python scalars, lists and strings, fit for a ``torch.load(...,
weights_only=True)`` file) and :meth:`Detector.from_state` rebuilds an
identical scorer without scikit-learn.
"""

from __future__ import annotations

import inspect

import numpy as np

from lfkit.errors import DataError, LfkitError, ParameterError, check_choice, check_positive_int

__all__ = [
    "DETECTORS",
    "Detector",
    "OCSVMDetector",
    "GMMDetector",
    "IForestDetector",
    "detector_names",
    "create_detector",
]

#: Version of the dictionaries :meth:`Detector.to_state` writes.
STATE_VERSION = 1

_SCORE_KINDS = ("decision_function", "log_likelihood", "anomaly_score")


def _to_target_score(raw, kind: str) -> np.ndarray:
    """Convert a library's native score to lfkit's sign: higher = more like the target.

    Parameters
    ----------
    raw : array-like of float, shape (n,)
        The native score.
    kind : str
        ``"decision_function"`` (scikit-learn's ``decision_function`` and
        ``score_samples``: lower = more abnormal), ``"log_likelihood"``
        (higher = more probable under the model) or ``"anomaly_score"``
        (PyOD's ``decision_function``: higher = more outlying).

    Returns
    -------
    np.ndarray of float64, shape (n,)
    """
    raw = np.asarray(raw, dtype=np.float64)
    if kind in ("decision_function", "log_likelihood"):
        return raw
    if kind == "anomaly_score":
        return -raw
    raise ParameterError(f"kind={kind!r} is not known; choose one of: {', '.join(_SCORE_KINDS)}")


def _check_X(X, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """Return ``X`` as a finite float64 array of shape (n_samples, n_features)."""
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array: {exc}") from None
    if X.ndim != 2:
        raise DataError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{name} is empty (shape {X.shape})")
    if not np.isfinite(X).all():
        n_nan, n_inf = int(np.isnan(X).sum()), int(np.isinf(X).sum())
        raise DataError(f"{name} holds {n_nan} NaN and {n_inf} infinite value(s)")
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(f"{name} has {X.shape[1]} features but the detector was fitted on {n_features}")
    return X


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def _average_path_length(n) -> np.ndarray:
    """Average path length of an unsuccessful BST search among ``n`` points (iForest's c(n))."""
    n = np.asarray(n, dtype=np.float64)
    out = np.where(n == 2, 1.0, 0.0)
    big = n > 2
    nb = n[big]
    out[big] = 2.0 * (np.log(nb - 1.0) + np.euler_gamma) - 2.0 * (nb - 1.0) / nb
    return out


class _State:
    """Typed, shape-checked access to a state dictionary; every failure is a DataError."""

    def __init__(self, state):
        if not isinstance(state, dict):
            raise DataError(f"detector state must be a dict, got {type(state).__name__}")
        self.state = state

    def get(self, key):
        if key not in self.state:
            raise DataError(f"detector state is missing {key!r}")
        return self.state[key]

    def scalar(self, key, kind=float):
        value = self.get(key)
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DataError(f"detector state {key!r} must be a number, got {type(value).__name__}")
        if kind is int and float(value) != int(value):
            raise DataError(f"detector state {key!r}={value!r} must be an integer")
        if not np.isfinite(value):
            raise DataError(f"detector state {key!r}={value!r} must be finite")
        return kind(value)

    def array(self, key, dtype, ndim, shape=None):
        value = self.get(key)
        try:
            arr = np.asarray(value)
            if arr.dtype == object or arr.dtype.kind not in "biuf":
                raise TypeError(f"dtype {arr.dtype}")
            if dtype is np.int64 and arr.size and not np.array_equal(arr, np.round(arr)):
                raise TypeError("values are not integers")
            arr = arr.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise DataError(f"detector state {key!r} must be a numeric array: {exc}") from None
        if arr.ndim != ndim:
            raise DataError(f"detector state {key!r} must be {ndim}-D, got shape {arr.shape}")
        if shape is not None:
            for want, got in zip(shape, arr.shape):
                if want is not None and want != got:
                    raise DataError(f"detector state {key!r} has shape {arr.shape}, expected {tuple(shape)}")
        if dtype is np.float64 and not np.isfinite(arr).all():
            raise DataError(f"detector state {key!r} holds NaN or infinite values")
        return arr


class Detector:
    """Base class: standardisation, thresholds, the fitted check and (de)serialisation.

    Subclasses set ``name`` and ``score_kind`` and implement ``_fit_model(Z,
    X_neg_z, X_cal_z)`` (on standardised features), ``_raw_score(Z)``,
    ``_model_state()`` and ``_load_model(st)``.
    """

    name = ""
    score_kind = "decision_function"
    #: Parameter holding the expected fraction of training outliers.
    quantile_param = "contamination"

    # -- scikit-learn estimator contract ------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters, as scikit-learn's ``get_params``."""
        return {p: getattr(self, p) for p in self._param_names()}

    def set_params(self, **params):
        """Set constructor parameters, as scikit-learn's ``set_params``; returns self."""
        known = self._param_names()
        for key, value in params.items():
            if key not in known:
                raise ParameterError(f"{key}={value!r} is not a parameter of {self.name}; known: {', '.join(known)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_is_fitted(self) -> None:
        fitted = [v for v in vars(self) if v.endswith("_") and not v.startswith("__")]
        if not fitted:
            raise LfkitError(f"this {type(self).__name__} is not fitted yet; call fit(X) or from_state(state) first")

    def _validate_params(self) -> None:
        """Check constructor parameters; raise ParameterError naming the bad one."""

    # -- fitting --------------------------------------------------------------
    def fit(self, X, X_neg=None, X_cal=None):
        """Fit on target-class features.

        Parameters
        ----------
        X : array-like of float, shape (n_samples, n_features)
            Embeddings of the target (positive) class only.
        X_neg : array-like of float, shape (n_neg, n_features), optional
            Negative examples; used by detectors that calibrate (gmm), else ignored.
        X_cal : array-like of float, shape (n_cal, n_features), optional
            Held-out positives for calibration (gmm); without it a split of
            ``X`` is held out.

        Returns
        -------
        self
        """
        self._validate_params()
        X = _check_X(X)
        if X.shape[0] < 2:
            raise DataError(f"X has {X.shape[0]} sample(s); a detector needs at least 2")
        n_features = X.shape[1]
        X_neg = None if X_neg is None else _check_X(X_neg, "X_neg", n_features)
        X_cal = None if X_cal is None else _check_X(X_cal, "X_cal", n_features)
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        if not (scale > 0).any():
            raise DataError(
                f"features are constant: all {n_features} columns of X have zero variance over {X.shape[0]} samples"
            )
        for attr in [a for a in vars(self) if a.endswith("_")]:
            delattr(self, attr)  # refitting starts clean
        scale = np.where(scale > 0, scale, 1.0)
        self.n_features_in_ = n_features
        self.mean_, self.scale_ = mean, scale
        try:
            Z_train = self._fit_model(
                self._standardise(X),
                None if X_neg is None else self._standardise(X_neg),
                None if X_cal is None else self._standardise(X_cal),
            )
            train_scores = _to_target_score(self._raw_score(Z_train), self.score_kind)
            self.threshold_ = float(np.quantile(train_scores, float(getattr(self, self.quantile_param))))
        except BaseException:
            for attr in [a for a in vars(self) if a.endswith("_")]:
                delattr(self, attr)  # a failed fit leaves the detector unfitted, not half-fitted
            raise
        return self

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.scale_

    # -- scoring --------------------------------------------------------------
    def score_samples(self, X) -> np.ndarray:
        """Score each row; **higher = more like the training (target) class**.

        Parameters
        ----------
        X : array-like of float, shape (n_samples, n_features)

        Returns
        -------
        np.ndarray of float64, shape (n_samples,)
        """
        self._check_is_fitted()
        X = _check_X(X, n_features=self.n_features_in_)
        return _to_target_score(self._raw_score(self._standardise(X)), self.score_kind)

    def decision(self, X) -> np.ndarray:
        """``score_samples(X) >= threshold_``: True for clips called target class, shape (n_samples,)."""
        return self.score_samples(X) >= self.threshold_

    def predict_proba(self, X) -> np.ndarray | None:
        """Probability of the target class where the detector is calibrated, else ``None``."""
        self._check_is_fitted()
        return None

    # -- storage ----------------------------------------------------------------
    def to_state(self) -> dict:
        """The fitted detector as a dict of numpy arrays (float64/int64) and plain Python values.

        Returns
        -------
        dict
            ``detector`` (registry name), ``state_version``, ``params``
            (constructor parameters), ``mean``, ``scale``, ``threshold`` and the
            model's own arrays. :meth:`from_state` rebuilds the detector.
        """
        self._check_is_fitted()
        params = {}
        for k, v in self.get_params().items():
            params[k] = v.item() if isinstance(v, np.generic) else v
        state = {
            "detector": self.name,
            "state_version": STATE_VERSION,
            "params": params,
            "mean": np.asarray(self.mean_, dtype=np.float64),
            "scale": np.asarray(self.scale_, dtype=np.float64),
            "threshold": float(self.threshold_),
        }
        state.update(self._model_state())
        return state

    @classmethod
    def from_state(cls, state: dict) -> "Detector":
        """Rebuild a fitted detector from :meth:`to_state`'s dict, without scikit-learn.

        Arrays may also be nested lists (as after a JSON round trip). Called on
        :class:`Detector` it dispatches on ``state["detector"]``.

        Raises
        ------
        DataError
            If the state is malformed: a key missing, a wrong type or shape.
        """
        st = _State(state)
        name = st.get("detector")
        if name not in DETECTORS:
            raise DataError(f"detector state names detector={name!r}; known: {', '.join(DETECTORS)}")
        klass = DETECTORS[name]
        if cls is not Detector and klass is not cls:
            raise DataError(f"detector state is for {name!r}, not {cls.name!r}")
        version = st.scalar("state_version", int)
        if version != STATE_VERSION:
            raise DataError(f"detector state_version={version} is not supported (this lfkit reads {STATE_VERSION})")
        params = st.get("params")
        if not isinstance(params, dict):
            raise DataError("detector state 'params' must be a dict")
        try:
            det = klass(**params)
            det._validate_params()
        except (TypeError, ParameterError) as exc:
            raise DataError(f"detector state 'params' are invalid: {exc}") from None
        mean = st.array("mean", np.float64, 1)
        det.mean_ = mean
        det.scale_ = st.array("scale", np.float64, 1, (mean.size,))
        if not (det.scale_ > 0).all():
            raise DataError("detector state 'scale' must be positive")
        det.n_features_in_ = int(mean.size)
        det.threshold_ = st.scalar("threshold", float)
        det._load_model(st)
        return det

    # subclass hooks
    def _fit_model(self, Z, Z_neg, Z_cal) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _raw_score(self, Z) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _model_state(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load_model(self, st: _State) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _check_fraction(name: str, value, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ParameterError(f"{name}={value!r} must be a number in (0, {high:g}]")
    if not 0.0 < float(value) <= high:
        raise ParameterError(f"{name}={value!r} must be in (0, {high:g}]")
    return float(value)


class OCSVMDetector(Detector):
    """One-class SVM with an RBF kernel (scikit-learn ``OneClassSVM``).

    Parameters
    ----------
    nu : float
        Upper bound on the fraction of training outliers, in (0, 1]; also the
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

    def __init__(self, nu=0.08, gamma=0.001, kernel="rbf"):
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
        _check_fraction("nu", self.nu, 1.0)
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

    def __init__(self, n_components=18, covariance_type="spherical", max_iter=100, random_state=0,
                 calibration=True, contamination=0.08, cal_fraction=0.25):
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


_TREE_KEYS = ("children_left", "children_right", "feature", "threshold", "n_node_samples")


def _tree_attr(key: str) -> str:
    """Attribute holding a tree array (``threshold_`` is the detector's own threshold)."""
    return "node_threshold_" if key == "threshold" else key + "_"


class IForestDetector(Detector):
    """Isolation forest (scikit-learn ``IsolationForest``, ``max_samples="auto"``).

    Parameters
    ----------
    n_estimators : int
        Number of trees.
    contamination : float
        Expected fraction of training outliers, in (0, 0.5]; sets sklearn's
        ``offset_`` and the quantile used as ``threshold_``.
    random_state : int
        Seed.

    Notes
    -----
    The score is scikit-learn's ``decision_function``:
    ``-2 ** (-E[h(z)] / c(max_samples_)) - offset_``, where ``h`` is the depth
    of the leaf ``z`` reaches plus ``c(n_node_samples)`` of that leaf. All trees
    are stored as flat arrays with ``tree_offsets`` marking where each starts.
    """

    name = "iforest"
    score_kind = "decision_function"

    def __init__(self, n_estimators=70, contamination=0.08, random_state=0):
        self.n_estimators = n_estimators
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self):
        check_positive_int("n_estimators", self.n_estimators)
        _check_fraction("contamination", self.contamination, 0.5)

    def _fit_model(self, Z, Z_neg, Z_cal):
        from sklearn.ensemble import IsolationForest

        est = IsolationForest(n_estimators=self.n_estimators, contamination=float(self.contamination),
                              random_state=self.random_state).fit(Z)
        self.estimator_ = est  # kept for reference only; scoring uses the arrays below
        trees = [t.tree_ for t in est.estimators_]
        sizes = [t.node_count for t in trees]
        self.tree_offsets_ = np.r_[0, np.cumsum(sizes)].astype(np.int64)
        for key in _TREE_KEYS:
            dtype = np.float64 if key == "threshold" else np.int64
            setattr(self, _tree_attr(key), np.concatenate([np.asarray(getattr(t, key)) for t in trees]).astype(dtype))
        self.estimators_features_ = np.array(est.estimators_features_, dtype=np.int64)
        self.max_samples_ = int(est.max_samples_)
        self.offset_ = float(est.offset_)
        return Z

    def _raw_score(self, Z):
        Z = Z.astype(np.float32).astype(np.float64)  # sklearn's trees compare float32 inputs
        n = Z.shape[0]
        depths = np.zeros(n)
        rows = np.arange(n)
        for t in range(self.tree_offsets_.size - 1):
            lo = self.tree_offsets_[t]
            left = self.children_left_[lo:self.tree_offsets_[t + 1]]
            right = self.children_right_[lo:self.tree_offsets_[t + 1]]
            feat = self.feature_[lo:self.tree_offsets_[t + 1]]
            thr = self.node_threshold_[lo:self.tree_offsets_[t + 1]]
            Zt = Z[:, self.estimators_features_[t]]
            node = np.zeros(n, dtype=np.int64)
            depth = np.zeros(n)
            while True:
                inner = left[node] != -1
                if not inner.any():
                    break
                idx = rows[inner]
                nd = node[inner]
                go_left = Zt[idx, feat[nd]] <= thr[nd]
                node[inner] = np.where(go_left, left[nd], right[nd])
                depth[inner] += 1.0
            depths += depth + _average_path_length(self.n_node_samples_[lo + node])
        denom = (self.tree_offsets_.size - 1) * _average_path_length([self.max_samples_])[0]
        scores = np.ones(n) if denom == 0 else 2.0 ** (-depths / denom)
        return -scores - self.offset_

    def _model_state(self):
        state = {"tree_" + key: getattr(self, _tree_attr(key)).copy() for key in _TREE_KEYS}
        state.update({
            "tree_offsets": self.tree_offsets_.copy(),
            "estimators_features": self.estimators_features_.copy(),
            "max_samples": self.max_samples_,
            "offset": self.offset_,
        })
        return state

    def _load_model(self, st):
        offsets = st.array("tree_offsets", np.int64, 1)
        if offsets.size < 2 or offsets[0] != 0 or (np.diff(offsets) < 1).any():
            raise DataError("detector state 'tree_offsets' must start at 0 and increase")
        n_nodes, n_trees = int(offsets[-1]), offsets.size - 1
        arrays = {key: st.array("tree_" + key, np.float64 if key == "threshold" else np.int64, 1, (n_nodes,))
                  for key in _TREE_KEYS}
        feats = st.array("estimators_features", np.int64, 2, (n_trees, None))
        if feats.shape[1] == 0 or feats.min() < 0 or feats.max() >= self.n_features_in_:
            raise DataError(f"detector state 'estimators_features' must index the {self.n_features_in_} features")
        left, right, feature = arrays["children_left"], arrays["children_right"], arrays["feature"]
        local = np.arange(n_nodes) - np.repeat(offsets[:-1], np.diff(offsets))
        size = np.repeat(np.diff(offsets), np.diff(offsets))
        leaf = left == -1
        inner = ~leaf
        # children of an inner node lie after it in the same tree: traversal always ends
        if ((right == -1) != leaf).any() or (left[inner] <= local[inner]).any() or (right[inner] <= local[inner]).any() \
                or (left[inner] >= size[inner]).any() or (right[inner] >= size[inner]).any():
            raise DataError("detector state tree children are malformed")
        if (feature[inner] < 0).any() or (feature[inner] >= feats.shape[1]).any():
            raise DataError("detector state 'tree_feature' indexes features outside each tree's subset")
        if (arrays["n_node_samples"] < 1).any():
            raise DataError("detector state 'tree_n_node_samples' must be positive")
        for key in _TREE_KEYS:
            setattr(self, _tree_attr(key), arrays[key])
        self.tree_offsets_ = offsets
        self.estimators_features_ = feats
        self.max_samples_ = st.scalar("max_samples", int)
        if self.max_samples_ < 1:
            raise DataError("detector state 'max_samples' must be positive")
        self.offset_ = st.scalar("offset", float)


#: Detectors by name; CLI choices and test parametrisation come from here.
DETECTORS: dict[str, type[Detector]] = {
    "ocsvm": OCSVMDetector,
    "gmm": GMMDetector,
    "iforest": IForestDetector,
}


def detector_names() -> list[str]:
    """Names of the registered detectors, in registry order."""
    return list(DETECTORS)


def create_detector(name: str, **params) -> Detector:
    """Build an unfitted detector by registry name.

    Parameters
    ----------
    name : str
        One of :func:`detector_names`.
    **params
        Constructor parameters of that detector.

    Raises
    ------
    ParameterError
        If ``name`` is unknown (listing the known ones), a parameter is not
        accepted by that detector, or a value is out of range.
    """
    check_choice("detector", name, DETECTORS)
    klass = DETECTORS[name]
    known = klass._param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ParameterError(f"{name} detector has no parameter(s) {', '.join(unknown)}; known: {', '.join(known)}")
    det = klass(**params)
    det._validate_params()
    return det
