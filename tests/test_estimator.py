import numpy as np
import pytest
import torch
from art.attacks.evasion import AdversarialTexturePyTorch

from armory_siammtl.estimators import PyTorchSiamRPN
from armory_siammtl.tracking import SiamRPNTracker
from helpers import calibrated_model, moving_block_clip


@pytest.fixture(scope="module")
def clip():
    video, boxes = moving_block_clip(num_frames=4)
    return video[None], [{"boxes": boxes}]


def test_predict_matches_the_tracker(estimator, clip):
    x, y = clip
    preds = estimator.predict(x, y_init=y[0]["boxes"][:1])
    assert len(preds) == 1 and preds[0]["boxes"].shape == (4, 4) and preds[0]["scores"].shape == (4,)
    np.testing.assert_array_equal(preds[0]["boxes"][0], y[0]["boxes"][0])
    with torch.no_grad():
        direct = SiamRPNTracker(estimator.model).track(torch.from_numpy(x[0]), y[0]["boxes"][0])
    np.testing.assert_allclose(preds[0]["boxes"], direct.boxes.numpy(), atol=1e-4)


def test_loss_gradient_is_the_gradient_of_compute_loss(estimator, clip):
    x, y = clip
    grads = estimator.loss_gradient(x, y)
    assert grads.shape == x.shape and grads.dtype == x.dtype and np.abs(grads).sum() > 0
    loss = estimator.compute_loss(x, y)
    preds = estimator.predict(x, y_init=y[0]["boxes"][:1])
    assert loss == pytest.approx(np.abs(preds[0]["boxes"] - y[0]["boxes"]).sum(), rel=1e-4)
    direction = np.sign(grads) * 1e-3
    assert estimator.compute_loss(np.clip(x + direction, 0, 1), y) >= loss - 1e-3
    # attacks need the pixels' gradient only: no parameter gradient is computed or kept
    assert not any(p.requires_grad or p.grad is not None for p in estimator.model.parameters())


def test_bad_batches_are_refused(estimator, clip):
    x, y = clip
    with pytest.raises(ValueError, match="y_init"):
        estimator.predict(x)
    with pytest.raises(ValueError, match=r"\(N, T, H, W, 3\)"):
        estimator.predict(x[0], y_init=y[0]["boxes"][:1])
    with pytest.raises(ValueError, match="2 boxes for 4 frames"):
        estimator.loss_gradient(x, [{"boxes": y[0]["boxes"][:2]}])
    with pytest.raises(ValueError, match="clip_values"):
        PyTorchSiamRPN(calibrated_model(), clip_values=(0, 255), device_type="cpu")
    with pytest.raises(ValueError, match="at least 2 frames"):
        estimator.loss_gradient(x[:, :1], [{"boxes": y[0]["boxes"][:1]}])
    with pytest.raises(ValueError, match="numpy array or torch tensor"):
        estimator.predict(list(x), y_init=y[0]["boxes"][:1])
    with pytest.raises(ValueError, match="one {'boxes': \\(T, 4\\)} dict per video"):
        estimator.loss_gradient(x, [{"box": y[0]["boxes"]}])
    nan_row = y[0]["boxes"].copy()
    nan_row[1, 2] = np.nan  # a partial NaN is corrupt data, not an absent target
    with pytest.raises(ValueError, match="row 1 holds NaN"):
        estimator.compute_loss(x, [{"boxes": nan_row}])


def test_set_params_is_checked_and_undone_when_refused(estimator, clip):
    x, y = clip
    before = estimator.predict(x, y_init=y[0]["boxes"][:1])[0]["boxes"]
    with pytest.raises(ValueError, match="channels-last"):
        estimator.set_params(channels_first=True)
    with pytest.raises(ValueError, match="pixels in \\[0, 1\\]"):
        estimator.set_params(clip_values=(0.0, 255.0))
    assert not estimator.channels_first and estimator.values_checked
    np.testing.assert_array_equal(estimator.predict(x, y_init=y[0]["boxes"][:1])[0]["boxes"], before)
    # 0-255 floats scaled by preprocessing: checked after it, so they are refused, not tracked into NaN boxes
    estimator.set_params(preprocessing=(0.0, 1 / 255))
    assert not estimator.values_checked
    with pytest.raises(ValueError, match="tracker's pixels must lie in \\[0, 1\\]"):
        estimator.predict(x, y_init=y[0]["boxes"][:1])
    estimator.set_params(preprocessing=None)
    np.testing.assert_array_equal(estimator.predict(x, y_init=y[0]["boxes"][:1])[0]["boxes"], before)


def test_a_defence_attached_after_construction_is_in_the_attacks_gradient(clip):
    """ARMORY attaches a scenario's preprocessing defence with set_params after building the model: the
    estimator sees it (values_checked turns false), so the attack tracks whole frames through the defence,
    and its texture follows gradients that passed through it."""
    import torch
    from art.defences.preprocessor.preprocessor import PreprocessorPyTorch

    from armory_siammtl.attacks import AdversarialTexture

    class Recording(PreprocessorPyTorch):
        def __init__(self):
            super().__init__(device_type="cpu", apply_fit=False, apply_predict=True)
            self.graph = []

        def forward(self, x, y=None):
            self.graph.append(torch.is_tensor(x) and x.requires_grad)
            return x * 1.0, y

    x, y = clip
    corners = np.array([[20, 10], [110, 10], [110, 90], [20, 90]])
    meta = [{"gs_coords": corners, "masks": np.ones((4, 96, 128), np.uint8)}]
    estimator = PyTorchSiamRPN(calibrated_model(), device_type="cpu")
    recording = Recording()
    estimator.set_params(preprocessing_defences=[recording])
    assert not estimator.values_checked
    attack = AdversarialTexture(estimator, step_size=0.05, max_iter=2, frame_batch=None, shading=None, verbose=False)
    attack.generate(x, y, y_patch_metadata=meta)
    assert any(recording.graph), "no attack step went through the defence with the texture's graph"
    assert np.abs(attack.texture - 0.5).max() > 0, "the texture did not move"
    try:
        from armory.art_experimental.defences.video_compression_normalized import VideoCompressionNormalizedPyTorch
    except ImportError:
        return
    from armory_siammtl.armory.ffmpeg import ensure_ffmpeg

    if ensure_ffmpeg() is None:
        pytest.skip("no ffmpeg executable for ARMORY's video-compression defence")
    compression = VideoCompressionNormalizedPyTorch(video_format="avi", constant_rate_factor=28)
    calls = []
    original = compression.forward
    compression.forward = lambda x, y=None: calls.append(x.requires_grad) or original(x, y)
    estimator = PyTorchSiamRPN(calibrated_model(), device_type="cpu")
    estimator.set_params(preprocessing_defences=[compression])
    attack = AdversarialTexture(estimator, step_size=0.05, max_iter=1, frame_batch=None, shading=None, verbose=False)
    attack.generate(x, y, y_patch_metadata=meta)
    assert True in calls and np.abs(attack.texture - 0.5).max() > 0


def test_arts_adversarial_texture_runs_unchanged(estimator, clip):
    x, y = clip
    attack = AdversarialTexturePyTorch(
        estimator,
        patch_height=16,
        patch_width=24,
        x_min=60,
        y_min=80,
        step_size=0.05,
        max_iter=2,
        batch_size=1,
        verbose=False,
    )
    foreground = np.ones_like(x)
    x_adv = attack.generate(x, y, y_init=y[0]["boxes"][:1], foreground=foreground, shuffle=False)
    changed = np.abs(x_adv - x).sum(axis=-1) > 0
    assert changed[:, :, 60:76, 80:104].all()  # the patch region
    assert not changed[:, :, :60].any() and not changed[:, :, 76:].any()


def test_armorys_physical_texture_runs_unchanged(estimator, clip):
    from armory.art_experimental.attacks.carla_adversarial_texture import AdversarialPhysicalTexture

    x, y = clip
    corners = np.array([[70, 50], [110, 52], [112, 80], [68, 78]])  # x, y: tl, tr, br, bl
    masks = np.ones((4, 96, 128, 3), np.uint8)
    attack = AdversarialPhysicalTexture(estimator, step_size=0.05, max_iter=2, batch_size=1, verbose=False)
    x_adv = attack.generate(x, y, y_patch_metadata=[{"gs_coords": corners, "masks": masks}])
    assert x_adv.shape == x.shape
    assert np.abs(x_adv - x)[:, :, 55:75, 75:105].sum() > 0
    assert np.abs(x_adv - x)[:, :, :40].sum() == 0


def test_pixels_are_checked_once_unless_preprocessing_may_change_them(clip):
    x, y = clip
    plain = PyTorchSiamRPN(calibrated_model(), device_type="cpu")
    shifted = PyTorchSiamRPN(calibrated_model(), device_type="cpu", preprocessing=(0.05, 1.0))
    identity = PyTorchSiamRPN(calibrated_model(), device_type="cpu", preprocessing=(0.0, 1.0))
    assert plain.values_checked and identity.values_checked and not shifted.values_checked
    bad = x.copy()
    bad[0, 2, 5, 5, 1] = np.nan
    for estimator in (plain, shifted):
        with pytest.raises(ValueError, match="NaN"):
            estimator.predict(bad, y_init=y[0]["boxes"][:1])


@pytest.mark.parametrize("crop", ["subpixel", "skelevision"])
def test_window_gradients_equal_whole_frame_gradients(clip, crop):
    """loss_gradient differentiates only the crop windows the tracker reads (its cost then grows with the
    number of frames alone); the gradient is the one of whole frames, entry for entry."""
    from armory_siammtl.tracking.config import TrackingConfig

    class WholeFrames(PyTorchSiamRPN):
        @property
        def values_checked(self):
            return False

    x, y = clip
    model = calibrated_model()
    windowed = PyTorchSiamRPN(model, TrackingConfig(crop=crop), device_type="cpu").loss_gradient(x, y)
    whole = WholeFrames(model, TrackingConfig(crop=crop), device_type="cpu").loss_gradient(x, y)
    assert np.abs(whole).max() > 0 and (windowed != 0).sum() > 1000
    np.testing.assert_allclose(windowed, whole, rtol=1e-5, atol=1e-6 * np.abs(whole).max())
