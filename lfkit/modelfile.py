"""Compatibility name: the model file now lives in :mod:`lfkit.inference.modelfile`."""

from lfkit.inference.modelfile import (  # noqa: F401
    FORMAT_TAG,
    MAX_ENSEMBLE,
    build_network,
    load_model,
    model_display_name,
    read_raw,
    save_model,
    write_raw,
)

__all__ = ["FORMAT_TAG", "MAX_ENSEMBLE", "build_network", "load_model", "model_display_name", "read_raw",
           "save_model", "write_raw"]
