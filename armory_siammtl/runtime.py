"""Where a run happened (torch version, CPU kernels, threads, device) and a switch for bit-for-bit repeats.

SiamRPN picks one anchor by an argmax over near-ties, so round-off differences between CPU kernels
(``ATEN_CPU_CAPABILITY``) or thread counts flip single frames and an attack's trajectory diverges: results
record these facts, and ``make_deterministic`` fixes what can be fixed on one machine.
"""

import importlib.abc
import os
import sys

import torch


def cpu_capability() -> str:
    """The ATen CPU kernel set in use (e.g. "AVX512", "AVX2", "DEFAULT")."""
    get = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)  # torch >= 2.0
    return get() if get is not None else os.environ.get("ATEN_CPU_CAPABILITY", "unknown").upper()


def cpu_model() -> str:
    """The CPU's model name as Linux reports it (Intel and AMD round differently), else the platform's."""
    import platform

    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def runtime_facts() -> dict:
    """torch version, CPU model and capability, thread count, device and whether deterministic algorithms are
    on."""
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "torch": torch.__version__,
        "cpu": cpu_model(),
        "cpu_capability": cpu_capability(),
        "threads": torch.get_num_threads(),
        "device": device,
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }


def runtime_label(facts: dict) -> str:
    """A short label of ``runtime_facts()`` for one results column, e.g. "torch 2.14.1 AVX512 2t cpu (AMD EPYC)"
    (the CPU's model where facts name it: Intel and AMD round differently)."""
    label = f"torch {facts['torch']} {facts['cpu_capability']} {facts['threads']}t {facts['device']}"
    if facts.get("cpu"):
        label += f" ({facts['cpu']})"
    return label + (" deterministic" if facts["deterministic"] else "")


def make_deterministic(threads: int = 1) -> None:
    """Fixed thread count and deterministic algorithms, so a run repeats bit for bit on the same machine
    and software (not across CPU kernels or devices)."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)  # warn, not fail, on GPU ops without one
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def load_torch_compiler_first() -> None:
    """Import torch's compiler stack (torch._dynamo, torch >= 2.0) before TensorFlow: importing it after
    TensorFlow in one process segfaults. Older torch has none, and nothing to do."""
    try:
        import torch._dynamo  # noqa: F401
    except ImportError:
        pass


class _NoTritonAfterTensorFlow(importlib.abc.MetaPathFinder):
    """Refuses ``import triton`` with an ImportError, which torch and torchvision take as "no triton"."""

    def find_spec(self, name, path=None, target=None):
        if name == "triton" or name.startswith("triton."):
            raise ImportError(
                "triton is not imported after TensorFlow in this process: its extension crashes "
                "there (armory_siammtl.runtime.guard_triton)"
            )
        return None


def guard_triton() -> None:
    """In a process that imported TensorFlow first (``armory run`` does, before any package code), make a
    later ``import triton`` an ImportError instead of a segmentation fault: triton (torch's GPU kernel
    compiler, imported by torch._dynamo and torchvision with torch >= 2) loads an extension that crashes
    after TensorFlow's. torch and torchvision treat the ImportError as "triton absent"; this package never
    compiles kernels. A process without TensorFlow, or one that already holds triton, is left as it is."""
    if "tensorflow" in sys.modules and "triton" not in sys.modules:
        if not any(isinstance(finder, _NoTritonAfterTensorFlow) for finder in sys.meta_path):
            sys.meta_path.insert(0, _NoTritonAfterTensorFlow())
