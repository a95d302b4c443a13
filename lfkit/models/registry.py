"""Build models by name: the one registry of lfkit's network architectures.

The tables here are plain strings, so importing this module (and
``lfkit.models``) does not import torch; :func:`create_model` imports the
module that holds the class only when a model is built.

Every architecture takes spectrograms shaped ``(batch, 1, n_freq, n_frames)``
or waveforms shaped ``(batch, 1, n_samples)`` (see :func:`input_kind`), and
every class follows one contract: ``__init__(n_outputs=1, embedding_dim=...,
**arch_kwargs)`` with JSON-able arguments only, ``embed(x) -> (batch,
embedding_dim)`` and ``forward(x) -> (batch, n_outputs)`` logits.
"""

from __future__ import annotations

import importlib
import inspect
import json

from lfkit.errors import ParameterError, check_choice

__all__ = ["MODELS", "INPUT_KINDS", "model_names", "input_kind", "create_model", "model_class"]

#: Architecture name -> ``"module:Class"``, imported lazily.
MODELS = {
    "speccnn": "lfkit.models.cnn2d:SpecCNN",
    "basiccnn": "lfkit.models.cnn2d:BasicCNN",
    "lenet": "lfkit.models.cnn2d:LeNet",
    "alexnet": "lfkit.models.cnn2d:AlexNet",
    "vgg16": "lfkit.models.deep:VGG16",
    "resnet": "lfkit.models.deep:ResNet18",
    "inception": "lfkit.models.deep:Inception",
    "wave1d": "lfkit.models.wave:Wave1D",
    "ocspeccnn": "lfkit.models.recurrent:OCSpecCNN",
    "sispeccnn": "lfkit.models.recurrent:SiSpecCNN",
}

#: Architecture name -> what it reads: ``"spectrogram"`` or ``"waveform"``.
INPUT_KINDS = {name: "spectrogram" for name in MODELS}
INPUT_KINDS["wave1d"] = "waveform"


def model_names() -> tuple:
    """Return the names of every registered architecture, in registry order."""
    return tuple(MODELS)


def input_kind(name: str) -> str:
    """Return ``"spectrogram"`` or ``"waveform"``: what architecture ``name`` reads.

    Raises
    ------
    ParameterError
        If ``name`` is not a registered architecture.
    """
    check_choice("arch", name, MODELS)
    return INPUT_KINDS[name]


def model_class(name: str):
    """Import and return the class registered as ``name`` (imports torch)."""
    check_choice("arch", name, MODELS)
    module_name, _, class_name = MODELS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_model(name: str, **kwargs):
    """Build architecture ``name`` with keyword arguments ``kwargs``.

    Parameters
    ----------
    name : str
        One of :func:`model_names`.
    **kwargs
        ``n_outputs``, ``embedding_dim`` and the architecture's own arguments.
        They must be JSON-able: a model file stores ``(name, kwargs)`` and
        rebuilds the network through this function.

    Returns
    -------
    torch.nn.Module
        The model, with ``arch`` and ``arch_kwargs`` attributes recording how
        it was built.

    Raises
    ------
    ParameterError
        If ``name`` is unknown (the message lists the known names), an
        argument is not accepted by the architecture, is not JSON-able, or
        has a value the architecture cannot use.
    """
    cls = model_class(name)
    try:
        json.dumps(kwargs)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"arch={name!r}: model arguments must be JSON-able ({exc})") from None
    params = inspect.signature(cls.__init__).parameters
    accepted = [p for p in params if p not in ("self", "args", "kwargs")]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ParameterError(
            f"arch={name!r} does not accept {', '.join(unknown)}; it accepts: {', '.join(accepted)}"
        )
    model = cls(**kwargs)
    model.arch = name
    model.arch_kwargs = dict(kwargs)
    return model
