"""ARMORY-style ``patch_metadata`` (``gs_coords`` corners and visibility ``masks``): its checks, and the
paper's digital patch for datasets without a physical one (OTB).

The digital patch is a rectangle with a 10% margin from each frame edge; in every frame the ground-truth
box padded by 25 px stays uncovered and frame 1 stays clean.
"""

import numpy as np

MARGIN, CONTEXT_PAD = 0.1, 25


def check_patch_metadata(metadata: dict, video_shape) -> tuple:
    """Validate ARMORY ``patch_metadata``: gs_coords (4, 2) or (T, 4, 2) [x, y]; masks (T, H, W[, 3])."""
    num_frames, height, width = video_shape[:3]
    if num_frames == 0:
        raise ValueError("cannot attack an empty video (0 frames)")
    if "gs_coords" not in metadata:
        raise ValueError("patch_metadata has no 'gs_coords' (the patch's 4 corner points)")
    coords = np.asarray(metadata["gs_coords"], dtype=np.float64)
    if coords.shape == (4, 2):
        coords = np.repeat(coords[None], num_frames, axis=0)
    if coords.shape != (num_frames, 4, 2):
        raise ValueError(f"gs_coords must have shape (4, 2) or ({num_frames}, 4, 2), got {coords.shape}")
    if not np.isfinite(coords).all():
        raise ValueError("gs_coords holds NaN or infinite values")
    check_quadrilaterals(coords)
    low, high = coords.min(axis=1), coords.max(axis=1)
    inside = (high[:, 0] > 0) & (high[:, 1] > 0) & (low[:, 0] < width) & (low[:, 1] < height)
    if not inside.any():
        raise ValueError(f"the patch (gs_coords) lies outside the {width}x{height} frame in every frame")
    masks = metadata.get("masks")
    if masks is None:
        masks = np.ones((num_frames, height, width), dtype=np.float32)
    masks = np.asarray(masks)
    if masks.ndim == 4:
        masks = masks[..., 0]
    if masks.shape != (num_frames, height, width):
        raise ValueError(
            f"masks must have shape ({num_frames}, {height}, {width}[, 3]) to match the video, "
            f"got {np.asarray(metadata['masks']).shape}"
        )
    if np.issubdtype(masks.dtype, np.floating) and not np.isfinite(masks).all():
        raise ValueError("masks hold NaN or infinite values")
    return coords, (masks > 0).astype(np.float32)


MIN_PATCH_AREA = 1.0  # square pixels


def check_quadrilaterals(coords: np.ndarray) -> None:
    """Each frame's corners (T, 4, 2), in the order top-left, top-right, bottom-right, bottom-left, must
    form a convex quadrilateral of at least MIN_PATCH_AREA; the error names the frame and its corners."""
    edges = np.roll(coords, -1, axis=1) - coords  # (T, 4, 2): corner i -> corner i + 1
    turns = edges[:, :, 0] * np.roll(edges, -1, axis=1)[:, :, 1] - edges[:, :, 1] * np.roll(edges, -1, axis=1)[:, :, 0]
    area = 0.5 * np.abs(
        (
            coords[:, :, 0] * np.roll(coords, -1, axis=1)[:, :, 1]
            - np.roll(coords, -1, axis=1)[:, :, 0] * coords[:, :, 1]
        ).sum(axis=1)
    )
    for t in range(len(coords)):
        corners = coords[t].tolist()
        if np.any(turns[t] == 0):
            raise ValueError(f"gs_coords of frame {t} {corners}: three corners are collinear (or two coincide)")
        if not (np.all(turns[t] > 0) or np.all(turns[t] < 0)):
            raise ValueError(
                f"gs_coords of frame {t} {corners} do not form a convex quadrilateral in the order "
                "top-left, top-right, bottom-right, bottom-left (self-intersecting or concave)"
            )
        if area[t] < MIN_PATCH_AREA:
            raise ValueError(
                f"gs_coords of frame {t} {corners} enclose {area[t]:.3g} square pixels: less than "
                f"{MIN_PATCH_AREA:g}, the patch would change nothing"
            )


def digital_patch_metadata(frame_hw, boxes, margin: float = MARGIN, pad: int = CONTEXT_PAD) -> dict:
    """ARMORY-style ``patch_metadata`` for the paper's digital patch: gs_coords (4, 2), masks (T, H, W)."""
    height, width = frame_hw
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin}")
    x1, y1, x2, y2 = int(margin * width), int(margin * height), int((1 - margin) * width), int((1 - margin) * height)
    gs_coords = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.int64)
    masks = np.zeros((len(boxes), height, width), dtype=np.uint8)
    for t, box in enumerate(np.asarray(boxes)):
        if t == 0:
            continue  # the template frame stays clean
        masks[t, y1:y2, x1:x2] = 1
        if not np.isfinite(box).all():
            continue  # the target is absent from this frame: nothing to leave uncovered
        bx1, by1 = max(0, int(np.floor(box[0])) - pad), max(0, int(np.floor(box[1])) - pad)
        bx2, by2 = min(width, int(np.ceil(box[2])) + pad + 1), min(height, int(np.ceil(box[3])) + pad + 1)
        masks[t, by1:by2, bx1:bx2] = 0
    return {"gs_coords": gs_coords, "masks": masks}
