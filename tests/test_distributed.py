"""Training under ``torchrun``: two CPU processes (gloo, loopback) take the same optimizer steps as one
process accumulating their combined batch."""

import json
import os
import subprocess
import sys

import numpy as np

from armory_siammtl.cli import main

TINY = [
    "train",
    "--epochs",
    "2",
    "--iters",
    "2",
    "--instance-size",
    "159",
    "--videos",
    "2",
    "--frames",
    "4",
    "--height",
    "160",
    "--width",
    "200",
    "--val-videos",
    "1",
    "--val-pairs",
    "4",
    "--kpt-weight",
    "0.5",
    "--device",
    "cpu",
    "--threads",
    "1",
]


def _train_losses(out) -> np.ndarray:
    epochs = json.loads((out / "metrics.json").read_text())["epochs"]
    return np.array([[row[k] for k in ("train_cls", "train_reg", "train_kpt", "train_total")] for row in epochs])


def test_torchrun_ranks_take_the_steps_of_the_combined_batch(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "armory_siammtl.cli",
            *TINY,
            "--out",
            str(tmp_path / "ddp"),
            "--batch-size",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("best epoch:") == 1  # rank 0 alone reports and writes
    assert (
        main([*TINY, "--out", str(tmp_path / "one"), "--batch-size", "4", "--accumulate", "2", "--workers", "2"]) == 0
    )
    assert main([*TINY, "--out", str(tmp_path / "half"), "--batch-size", "2"]) == 0

    ddp, one, half = (_train_losses(tmp_path / name) for name in ("ddp", "one", "half"))
    assert ddp.shape == (2, 4)
    # the same samples and gradients: equal up to the order of float sums (measured ~1e-7 relative)
    np.testing.assert_allclose(ddp, one, rtol=1e-4)
    # while training on one rank's half of the batch is a different trajectory, far outside that tolerance
    assert np.abs(half - ddp).max() / np.abs(ddp).max() > 1e-2
