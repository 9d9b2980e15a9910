"""ARMORY model factory: ``get_art_model(model_kwargs, wrapper_kwargs, weights_path)``.

In an evaluation round ARMORY puts only the scenario's ``weights_file`` in ``saved_model_dir``. The file is
verified by ``models.load_model``: against ``model_kwargs.weights_sha256`` when the scenario pins one, the
manifest that lists its name (beside it, else the package's), and its own metadata; the scenario's
lambda_K, head and pre-trained head must be the ones recorded. A plain pysot checkpoint loads as the
scenario says, with a warning. There is no fallback to random weights.
"""

import warnings

from armory_siammtl import values
from armory_siammtl.armory.ffmpeg import ensure_ffmpeg
from armory_siammtl.estimators.build import build_estimator
from armory_siammtl.estimators.pytorch_siamrpn import PyTorchSiamRPN
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.models.weights_file import WeightsError
from armory_siammtl.runtime import guard_triton
from armory_siammtl.tracking.config import TrackingConfig

MODEL_KEYS = ("kpt_weight", "head", "pretrained_head", "weights_sha256")  # the model fields a scenario may set


WRAPPER_KEYS = (
    "input_shape",
    "clip_values",
    "channels_first",
    "preprocessing_defences",
    "preprocessing",
    "device_type",
    "gradient_mode",
    "batch_frames",
)  # PyTorchSiamRPN's arguments a scenario may set


def scenario_model(model_kwargs: dict, weights_path=None, wrapper_kwargs=None):
    """(ModelVariant, TrackingConfig) of a scenario's ``model_kwargs``; unknown keys (there and in
    ``wrapper_kwargs``) are refused.

    ``model_kwargs``: ``kpt_weight`` (lambda_K), ``head`` (null, "shallow", "deep"), ``pretrained_head``
    (true/false), ``weights_sha256`` (the weights file's sha256, pinned), and the tracker's keys of the
    experiment spec (``TrackingConfig``: ``instance_size``, ``crop``, ``track_first_frame``,
    ``channel_order``, ``penalty_k``, ``window_influence``, ``lr``, ``context_amount``).
    """
    if not isinstance(model_kwargs or {}, dict) or not isinstance(wrapper_kwargs or {}, dict):
        raise ValueError("model_kwargs and wrapper_kwargs must be JSON objects")
    unknown = sorted(set(wrapper_kwargs or {}) - set(WRAPPER_KEYS))
    if unknown:
        raise ValueError(f"unknown wrapper_kwargs {unknown}; PyTorchSiamRPN takes {list(WRAPPER_KEYS)}")
    wrapper = dict(wrapper_kwargs or {})
    PyTorchSiamRPN._check_own(wrapper.get("channels_first", False), wrapper.get("clip_values", (0.0, 1.0)), None)
    model_kwargs = dict(model_kwargs or {})
    known = (*MODEL_KEYS, *TrackingConfig.keys())
    unknown = sorted(set(model_kwargs) - set(known))
    if unknown:
        raise ValueError(f"unknown model_kwargs {unknown}; expected some of {sorted(known)}")
    variant = ModelVariant(
        kpt_weight=model_kwargs.get("kpt_weight", 0.0),
        head=model_kwargs.get("head"),
        pretrained_head=values.boolean("pretrained_head", model_kwargs.get("pretrained_head", False)),
        weights=weights_path,
        sha256=model_kwargs.get("weights_sha256"),
    )
    tracking = TrackingConfig(**{k: model_kwargs[k] for k in TrackingConfig.keys() if k in model_kwargs})
    return variant, tracking


def get_art_model(model_kwargs: dict, wrapper_kwargs: dict, weights_path=None) -> PyTorchSiamRPN:
    """ARMORY entry point for STL (kpt_weight 0, head null) and MTL SiamRPN models."""
    guard_triton()
    variant, tracking = scenario_model(model_kwargs, weights_path, wrapper_kwargs)
    if ensure_ffmpeg() is None:
        warnings.warn(
            "no ffmpeg executable: ARMORY cannot export the scenario's videos (export_batches); "
            "install imageio-ffmpeg or ffmpeg",
            stacklevel=2,
        )
    if weights_path is None:
        raise WeightsError("the scenario names no weights_file; armory-siammtl never runs random weights")
    return build_estimator(variant, tracking, **(wrapper_kwargs or {}))
