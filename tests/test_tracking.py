import cv2
import numpy as np
import pytest
import torch

from armory_siammtl.tracking import SiamRPNTracker, TrackingConfig, crop_subwindow
from helpers import bag_video, calibrated_model, moving_block_clip


def reference_crop(image, left, top, size, out_size, fill):
    """A straightforward crop: pad with the fill colour, slice, resize with cv2 (pysot's way)."""
    pad = size + 2
    padded = np.empty((image.shape[0] + 2 * pad, image.shape[1] + 2 * pad, 3), np.float32)
    padded[:] = fill
    padded[pad : pad + image.shape[0], pad : pad + image.shape[1]] = image
    patch = padded[top + pad : top + pad + size, left + pad : left + pad + size]
    return cv2.resize(patch, (out_size, out_size), interpolation=cv2.INTER_LINEAR)


def _crop(image, center, size, out_size, fill):
    frame = torch.from_numpy(image).permute(2, 0, 1)
    out = crop_subwindow(
        frame, torch.tensor(center, dtype=torch.float32), size, out_size, torch.tensor(fill, dtype=torch.float32)
    )
    return out[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("left,top", [(10, 20), (-30, -12), (60, 40)])
def test_integer_aligned_crop_is_exact(left, top):
    image = np.random.default_rng(0).uniform(0, 1, (90, 120, 3)).astype(np.float32)
    fill = image.mean(axis=(0, 1))
    size = 64
    ours = _crop(image, (left + size / 2, top + size / 2), size, size, fill)
    ref = reference_crop(image, left, top, size, size, fill)
    assert np.abs(ours - ref).max() < 1e-5  # float32 round-off of the sampling grid


def test_general_crop_agrees_with_cv2_within_interpolation_error():
    rng = np.random.default_rng(1)
    smooth = cv2.GaussianBlur(rng.uniform(0, 1, (200, 260, 3)).astype(np.float32), (0, 0), 4)
    fill = smooth.mean(axis=(0, 1))
    errors = []
    for left, top, size in [(13, 7, 151), (-20, 30, 181), (100, 90, 120)]:
        ours = _crop(smooth, (left + size / 2, top + size / 2), size, 127, fill)
        ref = reference_crop(smooth, left, top, size, 127, fill)
        errors.append(np.abs(ours - ref).mean())
        assert np.abs(ours - ref).max() < 0.02
    assert max(errors) < 2e-3


def _whole_frame_crop(frame, center, size, out_size, fill):
    """The crop's definition, sampling the whole frame (what crop_subwindow did before it cut a window)."""
    _, height, width = frame.shape
    steps = (torch.arange(out_size, dtype=frame.dtype) + 0.5) / out_size
    xs, ys = center[0] - size / 2 + steps * size, center[1] - size / 2 + steps * size
    grid = torch.stack(
        [(2 * xs / width - 1).view(1, -1).expand(out_size, -1), (2 * ys / height - 1).view(-1, 1).expand(-1, out_size)],
        dim=-1,
    )[None]
    sampled = torch.nn.functional.grid_sample((frame - fill.view(3, 1, 1))[None], grid, align_corners=False)
    return sampled + fill.view(1, 3, 1, 1)


@pytest.mark.parametrize(
    "center,size",
    [((61.3, 47.9), 40.7), ((3.2, 5.5), 57.1), ((118.0, 88.6), 33.3), ((60.0, 45.0), 300.0), ((-80.0, 20.0), 30.0)],
)
def test_crops_read_only_their_window_and_equal_whole_frame_sampling(center, size):
    rng = np.random.default_rng(2)
    image = torch.from_numpy(rng.uniform(0, 1, (3, 90, 120)).astype(np.float32))
    weights = torch.from_numpy(rng.uniform(-1, 1, (1, 3, 31, 31)).astype(np.float32))
    fill = image.mean(dim=(1, 2))
    results = []
    for crop in (crop_subwindow, _whole_frame_crop):
        frame = image.clone().requires_grad_(True)
        centre = torch.tensor(center, requires_grad=True)
        out = crop(frame, centre, torch.tensor(size), 31, fill)
        (out * weights).sum().backward()
        centre_grad = torch.zeros(2) if centre.grad is None else centre.grad  # none wholly outside the frame
        results.append((out.detach(), frame.grad, centre_grad))
    for ours, whole in zip(*results):  # equal up to float32 round-off of the sampling positions
        torch.testing.assert_close(ours, whole, rtol=1e-4, atol=1e-4)


def test_grad_and_no_grad_modes_give_the_same_boxes():
    model = calibrated_model()
    tracker = SiamRPNTracker(model)
    video, boxes = moving_block_clip(num_frames=5)
    with torch.no_grad():
        fast = tracker.track(torch.from_numpy(video), boxes[0])
    pixels = torch.from_numpy(video).requires_grad_(True)
    slow = tracker.track(pixels, boxes[0])
    assert torch.equal(fast.boxes, slow.boxes.detach())
    slow.boxes.sum().backward()
    assert pixels.grad is not None and pixels.grad[1:].abs().sum() > 0


def test_box_gradients_match_finite_differences():
    small = 127 + 8 * 4  # a small search crop, for speed
    model = calibrated_model(dtype=torch.float64, instance_size=small)
    with torch.no_grad():
        model.rpn_head.loc.head[-1].weight.mul_(0.05)  # modest box deltas, so the random model follows the block
    tracker = SiamRPNTracker(model, TrackingConfig(instance_size=small))
    video, boxes = moving_block_clip(num_frames=3, height=160, width=200)
    pixels = torch.from_numpy(video).double().requires_grad_(True)
    weights = torch.tensor([1.0, -0.5, 0.7, 0.3], dtype=torch.float64)
    objective = lambda v: (tracker.track(v, boxes[0]).boxes[1:] * weights).sum()  # noqa: E731
    objective(pixels).backward()
    grad = pixels.grad
    rng = np.random.default_rng(0)
    # the strongest pixels, and random ones near the object, in the template frame and both search frames
    picks = grad.abs().flatten().argsort(descending=True)[:8].tolist()
    picks += [
        np.ravel_multi_index((t, y, x, c), grad.shape)
        for t, y, x, c in zip(
            rng.integers(0, 3, 8), rng.integers(10, 90, 8), rng.integers(10, 90, 8), rng.integers(0, 3, 8)
        )
    ]
    eps, errors = 1e-6, []
    for index in picks:
        idx = np.unravel_index(index, grad.shape)
        plus, minus = pixels.detach().clone(), pixels.detach().clone()
        plus[idx] += eps
        minus[idx] -= eps
        with torch.no_grad():
            numeric = float((objective(plus) - objective(minus)) / (2 * eps))
        errors.append(abs(numeric - float(grad[idx])) / max(abs(numeric), 1e-2))
    # max-pool ties in bilinearly upsampled crops leave rare kinks; elsewhere the match is to ~1e-6
    assert np.median(errors) < 1e-4 and max(errors) < 2e-2, errors
    assert {int(np.unravel_index(i, grad.shape)[0]) for i in picks[:8]} & {0}, "template frame gets gradient"


def test_tracks_a_real_video():
    video = bag_video(max_frames=8)
    tracker = SiamRPNTracker(calibrated_model())
    with torch.no_grad():
        result = tracker.track(torch.from_numpy(video), [280, 100, 380, 210])
    boxes = result.boxes.numpy()
    assert boxes.shape == (8, 4) and np.isfinite(boxes).all()
    assert (boxes[:, 2] - boxes[:, 0] >= 10 - 1e-4).all()
    centers = (boxes[:, :2] + boxes[:, 2:]) / 2
    assert (centers >= 0).all() and (centers[:, 0] <= 480).all() and (centers[:, 1] <= 360).all()


@pytest.mark.parametrize(
    "video,box,message",
    [
        (np.zeros((0, 32, 32, 3), np.float32), [1, 1, 5, 5], "empty"),
        (np.zeros((2, 32, 32), np.float32), [1, 1, 5, 5], "4 dimensions"),
        (np.full((2, 32, 32, 3), np.nan, np.float32), [1, 1, 5, 5], "NaN"),
        (np.zeros((2, 32, 32, 3), np.float32), [40, 40, 50, 50], "outside"),
        (np.zeros((2, 32, 32, 3), np.float32), [5, 5, 2, 9], "no area"),
        (np.zeros((2, 32, 32, 3), np.uint8), [1, 1, 5, 5], "floats"),
    ],
)
def test_bad_input_is_refused(video, box, message):
    tracker = SiamRPNTracker(calibrated_model())
    with pytest.raises(ValueError, match=message):
        tracker.track(torch.from_numpy(video), box)


@pytest.mark.parametrize(
    "center,size,window",
    [
        ((50.3, 20.0), 10.6, (44, 14, 11)),  # floor(50.3 - 6 + 0.5) = 44
        ((7.5, 90.49), 16.0, (-1, 82, 16)),  # floor(7.5 - 8.5 + 0.5) = -1
        ((60.0, 45.5), 21.4, (49, 35, 21)),
    ],
)
def test_integer_crops_follow_pysots_window_arithmetic(center, size, window):
    from armory_siammtl.tracking.crop import crop_square, integer_window

    assert integer_window(center, size) == window
    image = np.random.default_rng(2).uniform(0, 1, (96, 128, 3)).astype(np.float32)
    fill = image.mean(axis=(0, 1))
    x0, y0, side = window
    frame = torch.from_numpy(image).permute(2, 0, 1).requires_grad_(True)  # gradient flows to the pixels
    centre = torch.tensor(center, dtype=torch.float32, requires_grad=True)
    out = crop_square(frame, centre, size, side, torch.from_numpy(fill), "integer")[0].permute(1, 2, 0)
    ref = reference_crop(image, x0, y0, side, side, fill)  # slice of the fill-padded frame, no resize
    assert np.abs(out.detach().numpy() - ref).max() < 1e-5
    assert torch.autograd.grad(out.sum(), centre, allow_unused=True)[0] is None  # position: no gradient
    sub = crop_square(frame, centre, size, side, torch.from_numpy(fill), "subpixel")
    assert torch.autograd.grad(sub.sum(), centre)[0].abs().sum() > 0


@pytest.mark.parametrize(
    "center,size,window",
    [
        ((50.7, 20.2), 10.9, (45, 15, 10)),  # (50, 20), side 10
        ((3.7, 40.2), 15.8, (-4, 32, 15)),
    ],
)  # int(3 - 8 + 0.5) = -4
def test_reference_crops_truncate_centre_and_size(center, size, window):
    """The paper's reference code truncates centre and size to whole pixels and the first pixel towards
    zero (pysot's "integer" would give (45, 15, 11) and (-5, 32, 16) here)."""
    from armory_siammtl.tracking.crop import crop_square, integer_window, skelevision_window

    assert skelevision_window(center, size) == window != integer_window(center, size)
    image = np.random.default_rng(3).uniform(0, 1, (96, 128, 3)).astype(np.float32)
    fill = image.mean(axis=(0, 1))
    x0, y0, side = window
    frame = torch.from_numpy(image).permute(2, 0, 1)
    out = crop_square(frame, torch.tensor(center), size, side, torch.from_numpy(fill), "skelevision")
    ref = reference_crop(image, x0, y0, side, side, fill)
    assert np.abs(out[0].permute(1, 2, 0).numpy() - ref).max() < 1e-5


def test_reference_tracking_setting_tracks_frame_zero_on_287_crops():
    video, boxes = moving_block_clip(num_frames=5)
    model = calibrated_model()
    reference = TrackingConfig.skelevision()
    assert (reference.instance_size, reference.crop, reference.track_first_frame) == (287, "skelevision", True)
    tracker = SiamRPNTracker(model, reference)
    assert tracker.score_size == 21
    with torch.no_grad():
        tracked = tracker.track(torch.from_numpy(video), boxes[0]).boxes.numpy()
        given = (
            SiamRPNTracker(model, TrackingConfig(instance_size=287, crop="integer"))
            .track(torch.from_numpy(video), boxes[0])
            .boxes.numpy()
        )
    assert tracked.shape == given.shape == (5, 4)
    np.testing.assert_array_equal(given[0], boxes[0])
    assert not np.array_equal(tracked[0], boxes[0])  # frame 0 went through the network too
    with pytest.raises(ValueError, match="tracking crop must be one of"):
        TrackingConfig(crop="nearest")


def test_recomputing_activations_gives_the_same_gradient():
    model = calibrated_model()
    video, boxes = moving_block_clip(num_frames=4)
    grads = []
    for recompute in (False, True):
        pixels = torch.from_numpy(video).requires_grad_(True)
        SiamRPNTracker(model, recompute=recompute).track(pixels, boxes[0]).boxes.sum().backward()
        grads.append(pixels.grad)
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-6 * float(grads[0].abs().max()))


def _batch_sizes(model, monkeypatch) -> list:
    """Record the batch size of every search batch the model's ``track_outputs`` receives."""
    sizes, original = [], model.track_outputs

    def recording(z_f, x, **kwargs):
        sizes.append(x.shape[0])
        return original(z_f, x, **kwargs)

    monkeypatch.setattr(model, "track_outputs", recording)
    return sizes


def test_batched_gradient_equals_sequential_with_integer_crops(monkeypatch):
    """Integer crops take no gradient through their position, so fixing windows and anchors in a pass
    without gradients and replaying them over batches of crops is the same computation up to round-off."""
    model = calibrated_model(instance_size=287)
    video, boxes = moving_block_clip(num_frames=6)
    runs = {}
    for mode in ("sequential", "batched"):
        sizes = _batch_sizes(model, monkeypatch)
        pixels = torch.from_numpy(video).requires_grad_(True)
        tracker = SiamRPNTracker(model, TrackingConfig.skelevision(), gradient_mode=mode, batch_frames=4)
        out = tracker.track(pixels, boxes[0]).boxes
        out.sum().backward()
        runs[mode] = out.detach(), pixels.grad, list(sizes)
    (seq_boxes, seq_grad, seq_sizes), (bat_boxes, bat_grad, bat_sizes) = runs["sequential"], runs["batched"]
    assert seq_sizes == [1] * 6 and bat_sizes == [1] * 6 + [4, 2]  # the traced pass, then two batches
    torch.testing.assert_close(bat_boxes, seq_boxes, rtol=0, atol=1e-3)
    assert seq_grad.abs().max() > 0
    torch.testing.assert_close(bat_grad, seq_grad, rtol=1e-3, atol=1e-3 * float(seq_grad.abs().max()))


def test_batched_mode_drops_the_crop_position_gradient_of_subpixel_crops():
    model = calibrated_model()
    video, boxes = moving_block_clip(num_frames=5)
    grads = []
    for mode in ("sequential", "batched"):
        pixels = torch.from_numpy(video).requires_grad_(True)
        SiamRPNTracker(model, gradient_mode=mode).track(pixels, boxes[0]).boxes.sum().backward()
        grads.append(pixels.grad.double().flatten())
    cosine = float(torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0))
    assert cosine < 0.99  # not the same gradient (0.38 measured here)


def test_gradient_mode_choice_and_bad_values():
    model = calibrated_model()
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    reference = SiamRPNTracker(model, TrackingConfig.skelevision())
    assert not reference.batched(cpu) and reference.batched(gpu)  # "auto": batches pay on a GPU only
    assert not SiamRPNTracker(model).batched(gpu)  # sub-pixel crops: the sequential gradient
    assert SiamRPNTracker(model, gradient_mode="batched").batched(cpu)
    video, boxes = moving_block_clip(num_frames=3)
    with torch.no_grad():  # without gradients the batched mode is the sequential path: identical boxes
        plain = SiamRPNTracker(model).track(torch.from_numpy(video), boxes[0]).boxes
        batched = SiamRPNTracker(model, gradient_mode="batched").track(torch.from_numpy(video), boxes[0]).boxes
    assert torch.equal(plain, batched)
    with pytest.raises(ValueError, match="gradient_mode must be one of"):
        SiamRPNTracker(model, gradient_mode="parallel")
    with pytest.raises(ValueError, match="batch_frames"):
        SiamRPNTracker(model, batch_frames=0)
