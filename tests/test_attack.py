import dataclasses

import numpy as np
import pytest

from armory_siammtl.attacks import AdversarialTexture, apply_texture
from armory_siammtl.attacks.warp import homography, place
from helpers import SmoothTracker, moving_block_clip

CORNERS = np.array([[60, 40], [118, 44], [120, 90], [58, 86]])  # x, y: tl, tr, br, bl


@pytest.fixture(scope="module")
def clip():
    video, boxes = moving_block_clip(num_frames=4)
    masks = np.ones((4, 96, 128), np.uint8)
    for t, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
        masks[t, y1:y2, x1:x2] = 0  # the person stands in front of the patch
    return video[None], [{"boxes": boxes}], [{"gs_coords": CORNERS, "masks": masks}]


def test_homography_maps_corners():
    src = np.array([[0, 0], [10, 0], [10, 5], [0, 5]])
    h = homography(src, CORNERS)
    mapped = h @ np.c_[src, np.ones(4)].T
    np.testing.assert_allclose((mapped[:2] / mapped[2]).T, CORNERS, atol=1e-9)
    with pytest.raises(ValueError, match="collinear"):
        homography(src, np.array([[0, 0], [1, 1], [2, 2], [3, 3]]))


def test_only_visible_patch_pixels_change(estimator, clip):
    x, y, meta = clip
    attack = AdversarialTexture(
        estimator,
        step_size=0.5,
        max_iter=2,
        gradient="sign",
        init="random",
        verbose=False,
        frame_batch=None,
        shading=None,
    )
    x_adv = attack.generate(x, y, y_patch_metadata=meta)
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    changed = np.abs(x_adv - x).max(axis=-1)[0] > 0
    assert not changed[0].any(), "frame 0 stays clean"
    inside = np.zeros(changed.shape[1:], bool)
    coverage = place(CORNERS, attack.texture.shape[:2], x.shape[2:4])
    inside[coverage.y0 : coverage.y1, coverage.x0 : coverage.x1] = coverage.coverage.numpy() > 0
    for t in range(1, 4):
        assert not (changed[t] & ~inside).any(), "pixels outside the patch never change"
        assert not (changed[t] & (meta[0]["masks"][t] == 0)).any(), "the person stays on top"
        assert changed[t][inside & (meta[0]["masks"][t] == 1)].mean() > 0.9
    assert attack.texture.min() >= 0 and attack.texture.max() <= 1
    # a saved texture redraws the attacked video exactly (the report's pictures rely on it)
    np.testing.assert_array_equal(apply_texture(x[0], attack.texture, meta[0], None), x_adv[0])


def test_checkpoints_equal_separate_runs(estimator, clip):
    x, y, meta = clip
    kwargs = dict(step_size=0.5, gradient="sign", frame_batch=3, seed=7, verbose=False)
    long_run = AdversarialTexture(estimator, max_iter=3, checkpoints=[0, 1, 3], **kwargs)
    final = long_run.generate(x, y, y_patch_metadata=meta)
    assert [r.steps for r in long_run.checkpoint_results] == [0, 1, 3]
    for result in long_run.checkpoint_results[1:]:
        short = AdversarialTexture(estimator, max_iter=result.steps, **kwargs)
        x_short = short.generate(x, y, y_patch_metadata=meta)
        np.testing.assert_array_equal(short.texture, result.texture)
        np.testing.assert_allclose(short.checkpoint_results[-1].boxes, result.boxes, atol=1e-5)
    np.testing.assert_array_equal(x_short, final)
    assert not np.array_equal(long_run.checkpoint_results[0].texture, long_run.texture)


def test_an_attack_gone_on_from_a_saved_state_equals_an_uninterrupted_one(estimator, clip):
    x, y, meta = clip
    kwargs = dict(step_size=0.5, gradient="sign-accumulated", frame_batch=3, seed=7, verbose=False)
    states = []
    whole = AdversarialTexture(estimator, max_iter=4, checkpoints=[1, 3], on_state=states.append, **kwargs)
    final = whole.generate(x, y, y_patch_metadata=meta)
    assert [s.step for s in states] == [1, 2, 3, 4] and [c.steps for c in states[1].checkpoints] == [1]
    assert states[1].accumulated.any(), "the gradient sum is part of the state"
    # stopped after 2 steps of an attack asked for 3, gone on with to 4 (a longer attack, as a sweep's)
    stopped = []
    AdversarialTexture(estimator, max_iter=3, checkpoints=[1, 3], on_state=stopped.append, **kwargs).generate(
        x, y, y_patch_metadata=meta
    )
    resumed = AdversarialTexture(estimator, max_iter=4, checkpoints=[1, 3], **kwargs)
    np.testing.assert_array_equal(resumed.generate(x, y, y_patch_metadata=meta, resume=stopped[1]), final)
    np.testing.assert_array_equal(resumed.texture, whole.texture)
    assert [c.steps for c in resumed.checkpoint_results] == [1, 3, 4]
    for mine, theirs in zip(resumed.checkpoint_results, whole.checkpoint_results):
        np.testing.assert_array_equal(mine.texture, theirs.texture)
        np.testing.assert_allclose(mine.boxes, theirs.boxes, atol=1e-5)
    with pytest.raises(ValueError, match=r"checkpoints \[1\] lie before the state's step 2, unrecorded"):
        unrecorded = dataclasses.replace(stopped[1], checkpoints=[])
        AdversarialTexture(estimator, max_iter=4, checkpoints=[1], **kwargs).generate(
            x, y, y_patch_metadata=meta, resume=unrecorded
        )
    with pytest.raises(ValueError, match="beyond max_iter=1"):
        AdversarialTexture(estimator, max_iter=1, **kwargs).generate(x, y, y_patch_metadata=meta, resume=stopped[1])
    with pytest.raises(ValueError, match="the state's texture is"):
        small = dataclasses.replace(stopped[1], texture=stopped[1].texture[:5])
        resumed.generate(x, y, y_patch_metadata=meta, resume=small)


def test_raw_gradient_ascent_raises_the_loss(clip):
    """On a tracker whose loss is linear in the texture, each raw step raises the loss by step * |grad|^2:
    a margin of whole pixels, where SiamRPN's near-tied anchors would let round-off flip the outcome."""
    x, y, meta = clip
    tracker = SmoothTracker(y[0]["boxes"])

    def loss_after(steps):
        attack = AdversarialTexture(
            tracker, step_size=1e-4, max_iter=steps, verbose=False, gradient="raw", frame_batch=None, shading=None
        )
        x_adv = attack.generate(x, y, y_patch_metadata=meta)
        return tracker.l1(tracker.predict(x_adv, y_init=y[0]["boxes"][:1])[0]["boxes"], y[0]["boxes"]), attack

    grey, _ = loss_after(0)
    one, attack = loss_after(1)
    three, _ = loss_after(3)
    assert attack.texture.min() > 0.4 and attack.texture.max() < 0.6  # no clipping at this size
    assert one - grey > 10.0 and three - one > 10.0, (grey, one, three)


@pytest.mark.parametrize(
    "metadata,message",
    [
        ({"gs_coords": np.zeros((3, 2))}, "gs_coords must have shape"),
        ({"gs_coords": CORNERS, "masks": np.ones((4, 10, 10))}, "masks must have shape"),
        ({"masks": np.ones((4, 96, 128))}, "no 'gs_coords'"),
        ({"gs_coords": CORNERS * np.nan}, "NaN"),
    ],
)
def test_bad_metadata_is_refused(estimator, clip, metadata, message):
    x, y, _ = clip
    with pytest.raises(ValueError, match=message):
        AdversarialTexture(estimator, max_iter=1, verbose=False).generate(x, y, y_patch_metadata=[metadata])


def test_empty_video_and_bad_parameters_are_refused(estimator, clip):
    _, _, meta = clip
    with pytest.raises(ValueError, match="empty"):
        AdversarialTexture(estimator, max_iter=1, verbose=False).generate(
            np.zeros((1, 0, 96, 128, 3), np.float32), [{"boxes": np.zeros((0, 4))}], y_patch_metadata=meta
        )
    with pytest.raises(ValueError, match="gradient"):
        AdversarialTexture(estimator, gradient="adam")
    for bad, message in [
        ({"step_size": float("inf")}, "step_size must be a finite number"),
        ({"step_size": 1e39}, "step_size must be a finite number"),
        ({"batch_size": 2}, "batch_size must be 1"),
        ({"texture_size": (0, 0)}, "texture_size\\[0\\] must be a whole number from 1"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            AdversarialTexture(estimator, **bad)


def test_set_params_is_checked_as_construction_is(estimator, caplog):
    """ART's set_params runs _check_params; a refused change leaves the attack as it was; max_iter (what
    ARMORY's --check lowers to 1) drops the checkpoints beyond it with a warning."""
    attack = AdversarialTexture(estimator, max_iter=50, checkpoints=[10, 20], batch_size=1, verbose=False)
    assert attack.checkpoints == (10, 20, 50)
    before = dict(attack.__dict__)
    for change, message in [
        ({"gradient": "adam"}, "gradient must be one of"),
        ({"checkpoints": [100]}, "checkpoints \\[100\\] lie beyond max_iter=50"),
        ({"step_size": float("nan")}, "step_size must be a finite number"),
        ({"frame_batch": 1}, "frame_batch must be a whole number >= 2"),
        ({"verbose": "yes"}, "verbose must be true or false"),
        ({"bogus": 1}, "bogus"),
    ]:
        with pytest.raises(ValueError, match=message):
            attack.set_params(**change)
        assert attack.__dict__ == before, change
    with caplog.at_level("WARNING"):
        attack.set_params(max_iter=15)
    assert attack.max_iter == 15 and attack.checkpoints == (10, 15) and "drops checkpoints [20, 50]" in caplog.text
    attack.set_params(gradient="sign-accumulated", step_size=0.2)
    assert attack.gradient == "sign-accumulated" and attack.step_size == 0.2
    with caplog.at_level("WARNING"):  # ARMORY's --check: max_iter 1 with the scenario's checkpoints
        checked = AdversarialTexture(estimator, max_iter=1, checkpoints=[10, 20, 50, 100], verbose=False)
    assert checked.checkpoints == (1,)


@pytest.mark.parametrize(
    "make_x,message",
    [
        (lambda x: (x * 255).astype(np.uint8), "dtype uint8 \\(divide 0-255 pixels by 255\\)"),
        (lambda x: x * 255, "from 0.* to 2[0-9.]+ \\(0-255 values: divide by 255\\)"),
        (lambda x: x + 0.01, "must lie in \\[0, 1\\], found values from 0.* to 1.0"),
    ],
)
def test_videos_outside_0_1_are_refused_everywhere(estimator, clip, make_x, message):
    x, y, meta = clip
    bad = make_x(x)
    with pytest.raises(ValueError, match=message):
        estimator.predict(bad, y_init=y[0]["boxes"][:1])
    with pytest.raises(ValueError, match=message):
        estimator.loss_gradient(bad, y)
    with pytest.raises(ValueError, match=message):
        AdversarialTexture(estimator, max_iter=1, verbose=False).generate(bad, y, y_patch_metadata=meta)


def test_init_boxes_of_the_wrong_shape_are_named(estimator, clip):
    x, y, _ = clip
    with pytest.raises(ValueError, match=r"one \[x1, y1, x2, y2\] box per video, shape \(1, 4\); got shape \(1, 5\)"):
        estimator.predict(x, y_init=np.ones((1, 5)))


@pytest.mark.parametrize(
    "corners,message",
    [
        ([[60, 40], [120, 40], [180, 40], [58, 86]], "frame 0 .*collinear"),
        ([[60, 40], [118, 86], [120, 44], [58, 86]], "frame 0 .*not form a convex quadrilateral"),
        ([[60, 40], [60.5, 40], [60.5, 40.5], [60, 40.5]], "frame 0 .*0.25 square pixels"),
    ],
)
def test_degenerate_patches_are_refused_with_the_users_corners(estimator, clip, corners, message):
    x, y, meta = clip
    with pytest.raises(ValueError, match=message):
        AdversarialTexture(estimator, max_iter=1, verbose=False).generate(
            x, y, y_patch_metadata=[dict(meta[0], gs_coords=np.array(corners))]
        )


def test_nan_masks_and_one_frame_videos_are_refused(estimator, clip):
    x, y, meta = clip
    with pytest.raises(ValueError, match="masks hold NaN"):
        AdversarialTexture(estimator, max_iter=1, verbose=False).generate(
            x, y, y_patch_metadata=[dict(meta[0], masks=np.full((4, 96, 128), np.nan))]
        )
    with pytest.raises(ValueError, match="1 frame has nothing to attack"):
        AdversarialTexture(estimator, max_iter=1, verbose=False).generate(
            x[:, :1], [{"boxes": y[0]["boxes"][:1]}], y_patch_metadata=[dict(meta[0], masks=meta[0]["masks"][:1])]
        )


def test_windows_without_the_patch_get_a_zero_gradient(estimator, clip):
    """The patch is visible only in frame 3; a 2-frame window over frames 0-1 or 1-2 does not see it."""
    x, y, meta = clip
    masks = np.zeros_like(meta[0]["masks"])
    masks[3] = meta[0]["masks"][3]
    attack = AdversarialTexture(
        estimator, step_size=0.1, max_iter=4, frame_batch=2, gradient="sign", seed=1, verbose=False
    )
    x_adv = attack.generate(x, y, y_patch_metadata=[dict(meta[0], masks=masks)])
    assert np.array_equal(x_adv[:, :3], x[:, :3])  # no patch pixel visible there
    assert x_adv.shape == x.shape and np.isfinite(attack.texture).all()


def test_sign_accumulated_steps_by_the_sign_of_the_running_gradient_sum(clip):
    """ART 1.9.1 (the paper's reference) never reset the texture's gradient: each step moved by the sign of
    the sum of every gradient so far. Replayed here step by step on a tracker whose loss is linear in the
    pixels, with the gradient of each recorded texture recomputed through the attack's own functions."""
    import torch

    from armory_siammtl.attacks.compositing import composite, prepare_frames
    from armory_siammtl.tracking.objective import box_l1

    x, y, meta = clip
    tracker = SmoothTracker(y[0]["boxes"])
    # a target 3 px beside the grey texture's boxes: the first step overshoots it by hundreds of px, so the
    # gradient's sign flips and the two rules part
    grey = apply_texture(x[0], np.full((50, 62, 3), 0.5, np.float32), meta[0], None)
    tracker.shift = tracker.predict(grey[None], y_init=y[0]["boxes"][:1])[0]["boxes"] - torch.as_tensor(y[0]["boxes"])
    start = tracker.predict(grey[None], y_init=y[0]["boxes"][:1])[0]["boxes"].numpy()  # the ground truth itself
    y = [{"boxes": start + np.array([-3, -3, 3, 3], np.float32)}]  # 3 px larger all round
    tracker.first_boxes = y[0]["boxes"]  # a window's first box is its target
    steps, delta = 6, 0.02
    runs = {}
    for gradient in ("sign-accumulated", "sign"):
        runs[gradient] = AdversarialTexture(
            tracker,
            step_size=delta,
            max_iter=steps,
            checkpoints=range(steps + 1),
            gradient=gradient,
            verbose=False,
            frame_batch=None,
            shading=None,
        )
        runs[gradient].generate(x, y, y_patch_metadata=meta)
    textures = [r.texture for r in runs["sign-accumulated"].checkpoint_results]
    from armory_siammtl.data.patch import check_patch_metadata

    video = torch.as_tensor(x[0])
    coords, masks = check_patch_metadata(meta[0], x.shape[1:])
    prepared = prepare_frames(video, coords, masks, textures[0].shape[:2], None, True)
    target = torch.as_tensor(y[0]["boxes"], dtype=torch.float32)
    total = np.zeros_like(textures[0])
    for k in range(steps):
        texture = torch.tensor(textures[k], requires_grad=True)
        boxes = tracker.predict(composite(video, texture, prepared)[None], y_init=y[0]["boxes"][:1])[0]["boxes"]
        total += torch.autograd.grad(box_l1(boxes, target), texture)[0].numpy()
        np.testing.assert_array_equal(textures[k + 1], np.clip(textures[k] + np.float32(delta) * np.sign(total), 0, 1))
    assert not np.array_equal(runs["sign"].texture, textures[-1]), "the toy problem does not tell the two apart"


def test_rectangle_region_pastes_texels_upright_in_the_bounding_rectangle(clip):
    x, _, meta = clip
    texture = np.random.default_rng(0).uniform(0, 1, (51, 63, 3)).astype(np.float32)
    pasted = apply_texture(x[0], texture, meta[0], None, clean_first_frame=False, region="rectangle")
    masks = meta[0]["masks"]
    left, top = CORNERS.min(axis=0)  # 58, 40
    right, bottom = CORNERS.max(axis=0)  # 120, 90
    for t in range(len(pasted)):
        inside = np.zeros(masks[t].shape, bool)
        inside[top:bottom, left:right] = True
        shown = inside & (masks[t] == 1)
        ys, xs = np.nonzero(shown)
        np.testing.assert_array_equal(pasted[t][ys, xs], texture[ys - top, xs - left])  # texel for pixel, unshaded
        np.testing.assert_array_equal(pasted[t][~shown], x[0, t][~shown])  # outside or occluded: untouched
    perspective = apply_texture(x[0], texture, meta[0], None, clean_first_frame=False)
    assert not np.array_equal(perspective, pasted)


@pytest.mark.parametrize("frame_batch,expected", [(None, [4] * 3), (3, [3] * 3)])
def test_whole_video_or_windows_per_step(clip, frame_batch, expected):
    x, y, meta = clip

    class Counting(SmoothTracker):
        def predict(self, x, y_init=None, **kwargs):
            lengths.append(np.shape(x)[1])
            return super().predict(x, y_init, **kwargs)

    lengths = []
    AdversarialTexture(
        Counting(y[0]["boxes"]),
        step_size=0.01,
        max_iter=3,
        checkpoints=[3],
        frame_batch=frame_batch,
        shading=None,
        verbose=False,
    ).generate(x, y, y_patch_metadata=meta)
    assert lengths[:-1] == expected and lengths[-1] == 4  # the steps, then the checkpoint's whole-video track


@pytest.mark.parametrize("region,clean_first", [("perspective", True), ("rectangle", False)])
def test_crop_window_reads_equal_whole_attacked_frames(estimator, region, clean_first):
    """The attack tracks a PatchedVideo (crop windows of clean frames with the texture pasted): the same
    boxes as tracking the whole composited video, and the same texture gradient up to round-off."""
    import torch

    from armory_siammtl.attacks.compositing import PatchedVideo, composite, prepare_frames
    from armory_siammtl.data.synthetic import make_video
    from armory_siammtl.tracking.objective import box_l1

    scene = make_video(910003, 6, 180, 240)
    video = torch.from_numpy(scene.video).float() / 255
    hw = (40, 60)
    prepared = prepare_frames(video, scene.gs_coords, scene.patch_masks, hw, "green_screen", clean_first, region)
    texture = torch.from_numpy(np.random.default_rng(4).uniform(0, 1, (*hw, 3)).astype(np.float32))
    target, first = torch.from_numpy(scene.boxes).float(), scene.boxes[0].astype(np.float64)
    runs = []
    for windowed in (True, False):
        leaf = texture.clone().requires_grad_(True)
        if windowed:
            boxes = estimator.track_frames(PatchedVideo(video, leaf, prepared), first)
        else:
            boxes = estimator.predict(composite(video, leaf, prepared)[None], y_init=first[None])[0]["boxes"]
        runs.append((boxes.detach(), torch.autograd.grad(box_l1(boxes, target), leaf)[0]))
    (boxes_w, grad_w), (boxes_f, grad_f) = runs
    torch.testing.assert_close(boxes_w, boxes_f, rtol=0, atol=1e-4)
    assert grad_f.abs().max() > 0
    torch.testing.assert_close(grad_w, grad_f, rtol=1e-3, atol=1e-5 * float(grad_f.abs().max()))


def test_batched_texture_gradient_equals_sequential_with_reference_tracking():
    """The reference tracker (integer crops) in the batched gradient mode reads the PatchedVideo twice
    (without, then with the graph): the texture gradient equals the sequential one."""
    import torch

    from armory_siammtl.attacks.compositing import PatchedVideo, prepare_frames
    from armory_siammtl.data.synthetic import make_video
    from armory_siammtl.estimators import PyTorchSiamRPN
    from armory_siammtl.tracking import TrackingConfig
    from armory_siammtl.tracking.objective import box_l1
    from helpers import calibrated_model

    estimator = PyTorchSiamRPN(calibrated_model(instance_size=287), TrackingConfig.skelevision(), device_type="cpu")
    scene = make_video(910004, 5, 180, 240)
    video = torch.from_numpy(scene.video).float() / 255
    hw = (40, 60)
    prepared = prepare_frames(video, scene.gs_coords, scene.patch_masks, hw, None, False, "rectangle")
    texture = torch.from_numpy(np.random.default_rng(5).uniform(0, 1, (*hw, 3)).astype(np.float32))
    target, first = torch.from_numpy(scene.boxes).float(), scene.boxes[0].astype(np.float64)
    grads = []
    for mode in ("sequential", "batched"):
        estimator.set_params(gradient_mode=mode)
        leaf = texture.clone().requires_grad_(True)
        boxes = estimator.track_frames(PatchedVideo(video, leaf, prepared), first)
        grads.append(torch.autograd.grad(box_l1(boxes, target), leaf)[0])
    assert estimator.get_params()["gradient_mode"] == "batched" and grads[0].abs().max() > 0
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-3, atol=1e-3 * float(grads[0].abs().max()))
