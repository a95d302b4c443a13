"""Inference apart from training: the model file and the scorers built from it.

* :mod:`lfkit.inference.modelfile`: the versioned model file (JSON header +
  numpy arrays; format-1 torch files migrate on load).
* :mod:`lfkit.inference.modelcheck`: checks of a loaded model's fields.
* :mod:`lfkit.inference.heads`: numpy heads (similarity, known-tone score,
  raw extractor), shared with the training regimes that fit them.
* :mod:`lfkit.inference.scorers`: scorer = front end -> network -> head, by
  explicit registries; :func:`load_scorers`.

Nothing here imports a training module, and importing this package imports
neither torch nor scikit-learn.
"""

from lfkit.inference.modelfile import FORMAT_TAG, build_network, load_model, save_model
from lfkit.inference.scorers import SCORERS, Scorer, load_scorers, make_scorer

__all__ = ["FORMAT_TAG", "build_network", "load_model", "save_model", "SCORERS", "Scorer", "load_scorers",
           "make_scorer"]
