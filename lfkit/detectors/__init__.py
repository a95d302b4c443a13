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

from lfkit.detectors.base import DETECTORS, Detector, _to_target_score
from lfkit.detectors.gmm import GMMDetector
from lfkit.detectors.iforest import IForestDetector
from lfkit.detectors.ocsvm import OCSVMDetector
from lfkit.errors import ParameterError, check_choice  # noqa: F401

__all__ = [
    "DETECTORS",
    "Detector",
    "OCSVMDetector",
    "GMMDetector",
    "IForestDetector",
    "detector_names",
    "create_detector",
    "_to_target_score",
]

DETECTORS.update({
    "ocsvm": OCSVMDetector,
    "gmm": GMMDetector,
    "iforest": IForestDetector,
})


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
