"""Mixed precision for training: autocast to fp16 (with a gradient scaler) or bf16, or plain fp32. Works on
torch 1.12 (the ARMORY image) and 2.x."""

import contextlib

import torch

AMP_MODES = ("off", "fp16", "bf16")


def check_amp(mode: str, device: torch.device) -> None:
    """Raise when ``mode`` is unknown or cannot run on ``device``."""
    if mode not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}, not {mode!r}")
    if mode == "fp16" and device.type != "cuda":
        raise ValueError("--amp fp16 needs a CUDA device (loss-scaled half precision); use --amp bf16 on CPU")


def autocast(mode: str, device: torch.device):
    """The forward pass's precision context for ``mode``."""
    check_amp(mode, device)
    if mode == "off":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.float16 if mode == "fp16" else torch.bfloat16)


def grad_scaler(mode: str, device: torch.device):
    """A gradient scaler for fp16 (loss scaling against underflow); disabled (a pass-through) otherwise."""
    enabled = mode == "fp16"
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(device.type, enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)
