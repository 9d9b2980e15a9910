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
    with pytest.raises(ValueError, match="expected \\(4, 4\\)"):
        estimator.loss_gradient(x, [{"boxes": y[0]["boxes"][:2]}])
    with pytest.raises(ValueError, match="clip_values"):
        PyTorchSiamRPN(calibrated_model(), clip_values=(0, 255), device_type="cpu")


def test_arts_adversarial_texture_runs_unchanged(estimator, clip):
    x, y = clip
    attack = AdversarialTexturePyTorch(estimator, patch_height=16, patch_width=24, x_min=60, y_min=80,
                                       step_size=0.05, max_iter=2, batch_size=1, verbose=False)
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
    shifted = PyTorchSiamRPN(calibrated_model(), device_type="cpu", preprocessing=(0.0, 1.0))
    assert plain.values_checked and not shifted.values_checked
    bad = x.copy()
    bad[0, 2, 5, 5, 1] = np.nan
    for estimator in (plain, shifted):
        with pytest.raises(ValueError, match="NaN"):
            estimator.predict(bad, y_init=y[0]["boxes"][:1])
