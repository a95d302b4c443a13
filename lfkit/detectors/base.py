"""The detector base class, the state checker and lfkit's one score-sign conversion."""

from __future__ import annotations

import inspect

import numpy as np

from lfkit.errors import DataError, LfkitError, ParameterError
from lfkit.thresholds import target_quantile_threshold

#: The detector registry, name -> class. It lives here so that :meth:`Detector.from_state` needs no import of
#: the package; :mod:`lfkit.detectors` fills it with every detector it defines (importing any detector module
#: runs the package first, so it is always filled).
DETECTORS: dict = {}

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
            self.threshold_ = target_quantile_threshold(train_scores, float(getattr(self, self.quantile_param)))
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


def _check_fraction(name: str, value, high: float, closed: bool = True) -> float:
    """``value`` as a float in (0, high] (``closed=False``: in (0, high)); ParameterError naming ``name`` if not."""
    span = f"(0, {high:g}{']' if closed else ')'}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ParameterError(f"{name}={value!r} must be a number in {span}")
    if not (0.0 < float(value) <= high if closed else 0.0 < float(value) < high):
        raise ParameterError(f"{name}={value!r} must be in {span}")
    return float(value)


