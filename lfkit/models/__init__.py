"""lfkit's neural network architectures, built by name through a registry.

Importing this package does not import torch; :func:`create_model` does.
"""

from lfkit.models.registry import INPUT_KINDS, MODELS, create_model, input_kind, model_class, model_names

__all__ = ["MODELS", "INPUT_KINDS", "model_names", "input_kind", "create_model", "model_class"]
