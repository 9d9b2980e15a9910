"""A sweep cell's attack in progress, saved so that a killed sweep, or one whose ``max_iter`` was raised, goes
on from the last saved step instead of from step 0.

``<results>.cells/<cell>.state.npz`` beside the cell's record, written atomically at most every
``save_every_s`` seconds and at the attack's last step, and kept when the cell is done (so raising
``max_iter`` later costs only the new steps; delete the ``.state.npz`` files to free their space). It
holds the attack's texture and gradient sum in float32 (so going on is exact on the same runtime), its
random state, the checkpoints recorded so far, the runtimes that computed it, and the cell's
fingerprint: every setting but ``max_iter`` and ``checkpoints``, the weights' sha256 and the video's content.
A state whose fingerprint differs is not used.
"""

import hashlib
import json
import time
import zipfile
from pathlib import Path
from typing import List, Optional

import numpy as np
from tqdm.auto import tqdm

from armory_siammtl.atomic import atomic_path
from armory_siammtl.attacks.adversarial_texture import AttackState, CheckpointResult
from armory_siammtl.experiment.attack import LENGTH_SETTINGS

SAVE_EVERY_S = 60.0  # at most one save a minute: a 100-frame step takes half a minute on a CPU thread


def state_path(record_path) -> Path:
    """The state file of the cell whose record is ``record_path`` (``cell_records.cell_path``)."""
    record_path = Path(record_path)
    return record_path.with_name(record_path.stem + ".state.npz")


def video_digest(video) -> str:
    """sha256 of a video's frames, boxes and patch corners (a cell's state belongs to these)."""
    digest = hashlib.sha256()
    for array in (video.frames, video.boxes, video.patch_metadata["gs_coords"]):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def cell_fingerprint(config, model, step_size: float, seed: int, video_id: str, video_sha256: str) -> dict:
    """What a cell's state must match to be gone on with: ``config``'s settings but ``LENGTH_SETTINGS``, the
    model's weights, the step size, seed and video (``video_digest``, computed once per video by the caller)."""
    spec = config.shared_settings()
    for key in LENGTH_SETTINGS:
        spec.pop(key, None)
    return json.loads(
        json.dumps(
            {
                "spec": spec,
                "sha256": model.sha256,
                "kpt_weight": model.kpt_weight,
                "head": model.head,
                "step_size": float(step_size),
                "seed": int(seed),
                "video": video_id,
                "video_sha256": video_sha256,
            }
        )
    )


class CellProgress:
    """Saves and restores one cell's ``AttackState`` at ``path`` for an attack of ``max_iter`` steps;
    ``runtime`` labels the runtime computing it now (a cell gone on with elsewhere names every runtime it ran
    on, in ``runtimes``)."""

    def __init__(self, path, fingerprint: dict, runtime: str, max_iter: int, save_every_s: Optional[float] = None):
        self.path, self.fingerprint, self.max_iter = Path(path), fingerprint, max_iter
        self.save_every_s = SAVE_EVERY_S if save_every_s is None else save_every_s
        self.runtimes: List[str] = [runtime]
        self._saved_at = time.monotonic()

    def load(self) -> Optional[AttackState]:
        """The saved state when there is one of this cell at a step <= ``max_iter``, else None (said on the
        progress bar's stream when a state is set aside)."""
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                steps = data["checkpoint_steps"]
                checkpoints = [
                    CheckpointResult(int(s), t, b, float(m))
                    for s, t, b, m in zip(
                        steps, data["checkpoint_textures"], data["checkpoint_boxes"], data["checkpoint_mious"]
                    )
                ]
                state = AttackState(
                    int(data["step"]), data["texture"], data["accumulated"], meta["rng_state"], checkpoints
                )
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            tqdm.write(f"{self.path}: unreadable ({exc}); the cell starts from step 0")
            return None
        if meta.get("fingerprint") != self.fingerprint:
            tqdm.write(f"{self.path}: saved under other settings, weights or video; the cell starts from step 0")
            return None
        if state.step > self.max_iter:
            tqdm.write(
                f"{self.path}: saved at step {state.step}, beyond max_iter={self.max_iter}; the cell starts from step 0"
            )
            return None
        self.runtimes = list(dict.fromkeys(meta.get("runtimes", []) + self.runtimes))
        return state

    def __call__(self, state: AttackState) -> None:
        """Save ``state`` when ``save_every_s`` has passed since the last save, and at ``max_iter``."""
        if state.step < self.max_iter and time.monotonic() - self._saved_at < self.save_every_s:
            return
        meta = {"fingerprint": self.fingerprint, "rng_state": state.rng_state, "runtimes": self.runtimes}
        checkpoints = state.checkpoints
        arrays = {
            "meta": np.array(json.dumps(meta)),
            "step": np.array(state.step, np.int64),
            "texture": np.asarray(state.texture, np.float32),
            "accumulated": np.asarray(state.accumulated, np.float32),
            "checkpoint_steps": np.array([c.steps for c in checkpoints], np.int64),
            "checkpoint_textures": _stacked([c.texture for c in checkpoints], np.shape(state.texture)),
            "checkpoint_boxes": _stacked([c.boxes for c in checkpoints], (0, 4)),
            "checkpoint_mious": np.array([c.mean_iou for c in checkpoints], np.float64),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        self._saved_at = time.monotonic()

    def runtime(self) -> str:
        """The runtime label(s) of the cell's rows: every runtime that computed part of it, joined by ' + '."""
        return " + ".join(self.runtimes)


def _stacked(arrays: list, shape: tuple) -> np.ndarray:
    """``arrays`` stacked as float32; (0, *shape) when there are none."""
    return np.stack(arrays).astype(np.float32) if arrays else np.zeros((0, *shape), np.float32)
