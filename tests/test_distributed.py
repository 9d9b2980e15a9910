"""Training under ``torchrun``: two CPU processes (gloo, loopback) take the same optimizer steps as one
process accumulating their combined batch; a process whose peer does not come fails after ``--dist-timeout``,
naming its rank and the flag."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_torchrun_ranks_take_the_steps_of_the_combined_batch(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            # not --standalone: torch 1.12's (the ARMORY image's) always takes port 29400, so two test runs
            # on one machine joined each other's rendezvous; a free port of its own per run
            "--rdzv_backend",
            "c10d",
            "--rdzv_endpoint",
            f"127.0.0.1:{_free_port()}",
            "--rdzv_id",
            tmp_path.name,
            "--nnodes",
            "1",
            "--nproc_per_node",
            "2",
            "-m",
            "armory_siammtl.cli",
            *TINY,
            "--out",
            str(tmp_path / "ddp"),
            "--batch-size",
            "2",
            "--dist-timeout",
            "120",  # a stuck collective fails here with the rank and the point of the run, not at the 600 s below
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


PEER = """
import sys, time
from armory_siammtl.training.distributed import join
worker = join("cpu", float(sys.argv[1]))
if worker.rank == 0:
    time.sleep(300)  # a peer that never reaches the barrier
else:
    worker.barrier("at the test's barrier")
"""


def test_a_rank_whose_peer_does_not_come_fails_after_the_timeout_naming_itself():
    base = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo", "MASTER_ADDR": "127.0.0.1"}
    base.update(MASTER_PORT=str(_free_port()), WORLD_SIZE="2")
    ranks = [
        subprocess.Popen(
            [sys.executable, "-c", PEER, "10"],
            env={**base, "RANK": str(rank), "LOCAL_RANK": str(rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        start = time.monotonic()
        _, err = ranks[1].communicate(timeout=240)
        waited = time.monotonic() - start
        assert ranks[0].poll() is None, "rank 0 ended first: " + ranks[0].communicate()[1][-2000:]
    finally:
        for rank in ranks:
            rank.kill()
            rank.communicate()
    assert ranks[1].returncode != 0
    assert "rank 1 of 2 stopped waiting for the other processes at the test's barrier" in err, err[-3000:]
    assert "longer than 10 s (--dist-timeout)" in err
    assert waited < 200  # rank 0 sleeps 300 s: rank 1 gave up on its own


def test_dist_timeout_is_refused_outside_what_a_timedelta_and_a_collective_can_wait(capsys):
    from armory_siammtl.cli.parser import build_parser
    from armory_siammtl.training.distributed import MAX_TIMEOUT_S, join

    parse = build_parser().parse_args
    assert parse(["train", "--out", "x", "--dist-timeout", "90"]).dist_timeout == 90.0
    for bad in ("0", "-5", "nan", "inf", str(MAX_TIMEOUT_S * 2)):
        with pytest.raises(SystemExit):
            parse(["train", "--out", "x", "--dist-timeout", bad])
        assert "argument --dist-timeout: must be a finite number" in capsys.readouterr().err
    with pytest.raises(ValueError, match="timeout_s must be a finite number"):
        join("cpu", float("inf"))
