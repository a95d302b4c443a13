"""Isolation forest, scored in numpy from its trees' arrays."""

from __future__ import annotations

import numpy as np

from lfkit.config import DETECTOR_DEFAULTS
from lfkit.errors import DataError, check_positive_int

from lfkit.detectors.base import Detector, _average_path_length, _check_fraction


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

    def __init__(self, n_estimators=DETECTOR_DEFAULTS.n_estimators, contamination=DETECTOR_DEFAULTS.contamination,
                 random_state=0):
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
