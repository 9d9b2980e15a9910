"""A real predict and loss_gradient with the shipped STL weights on a tiny procedural clip.

The Docker image runs it at build time; CI runs it in the main and in the image-equivalent environment
and compares the two on the same input (``--save`` there, ``--compare`` here):

    python -m armory_siammtl.armory.selfcheck [--weights-dir armory_siammtl/model_weights]
        [--save F.npz | --compare F.npz]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from armory_siammtl.data.splits import EMBEDDED_SEED
from armory_siammtl.estimators.build import build_estimator
from armory_siammtl.models.manifest import SHIPPED_WEIGHTS
from armory_siammtl.models.variant import ModelVariant

BOX_TOLERANCE_PX = 1e-3


def clip(frames: int = 6, height: int = 120, width: int = 160):
    """(x (1, T, H, W, 3) float32, y [{"boxes": (T, 4)}]) from the procedural scene."""
    from armory_siammtl.data.synthetic import make_video

    scene = make_video(EMBEDDED_SEED, frames, height, width)
    return (scene.video / 255.0).astype(np.float32)[None], [{"boxes": scene.boxes.astype(np.float32)}]


def run(x, y, weights_dir=SHIPPED_WEIGHTS) -> dict:
    """Boxes, scores and the loss gradient of the shipped STL model; raises if anything is off."""
    estimator = build_estimator(ModelVariant(weights=Path(weights_dir) / "siamrpn_alex_stl.pth"), device_type="cpu")
    pred = estimator.predict(x, y_init=y[0]["boxes"][:1])[0]
    grad = estimator.loss_gradient(x, y)
    if pred["boxes"].shape != (x.shape[1], 4) or not np.isfinite(pred["boxes"]).all():
        raise RuntimeError(f"predict gave boxes of shape {pred['boxes'].shape} or non-finite values")
    if grad.shape != x.shape or not np.isfinite(grad).all() or not np.abs(grad).sum() > 0:
        raise RuntimeError("loss_gradient is of the wrong shape, non-finite or zero")
    return {"boxes": pred["boxes"], "scores": pred["scores"], "grad": grad}


def compare(reference: dict, result: dict) -> str:
    """Raise when the boxes differ by more than BOX_TOLERANCE_PX; report the gradients' agreement."""
    box_diff = np.abs(reference["boxes"] - result["boxes"]).max(axis=1)
    g0, g1 = reference["grad"].ravel().astype(np.float64), result["grad"].ravel().astype(np.float64)
    cosine = float(g0 @ g1 / (np.linalg.norm(g0) * np.linalg.norm(g1)))
    report = (
        f"max box difference {box_diff.max():.2e} px (frames: {np.round(box_diff, 6).tolist()}), "
        f"gradient cosine similarity {cosine:.6f}"
    )
    if box_diff.max() > BOX_TOLERANCE_PX:
        raise RuntimeError(f"boxes differ from the reference: {report}")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--save", help="also write the input and outputs to this .npz")
    group.add_argument("--compare", help="run on the input stored in this .npz and compare with its outputs")
    parser.add_argument("--weights-dir", default=str(SHIPPED_WEIGHTS), help="folder of siamrpn_alex_stl.pth")
    args = parser.parse_args(argv)
    if args.compare:
        stored = dict(np.load(args.compare))
        x, y = stored["x"], [{"boxes": stored["y"]}]
    else:
        x, y = clip()
    result = run(x, y, args.weights_dir)
    if args.save:
        np.savez_compressed(args.save, x=x, y=y[0]["boxes"], **result)
    message = f"selfcheck ok: predict {result['boxes'].shape}, loss_gradient {result['grad'].shape}"
    if args.compare:
        message += "; against the reference: " + compare(stored, result)
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
