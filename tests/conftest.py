import sys
from pathlib import Path

# torch (>= 2.0) imports triton lazily (through torch._dynamo, e.g. from torchvision or ART); importing it
# after TensorFlow is loaded in the same process segfaults, so load it first
from armory_siammtl.runtime import load_torch_compiler_first  # noqa: E402

load_torch_compiler_first()

sys.path.insert(0, str(Path(__file__).parent))


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def estimator():
    """PyTorchSiamRPN around an untrained, batch-norm-calibrated model (tests/helpers.py)."""
    from armory_siammtl.estimators import PyTorchSiamRPN
    from helpers import calibrated_model

    return PyTorchSiamRPN(calibrated_model(), device_type="cpu")
