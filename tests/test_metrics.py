import numpy as np
import pytest

from armory_siammtl.tracking.metrics import (
    box_iou,
    miou_percent,
    position_and_size_miou,
    video_mean_iou,
    video_success_rate,
)


def random_boxes(rng, n):
    xy = rng.uniform(0, 100, (n, 2))
    return np.c_[xy, xy + rng.uniform(5, 60, (n, 2))]


def test_iou_basics():
    assert box_iou([[0, 0, 10, 10]], [[0, 0, 10, 10]])[0] == 1
    assert box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0] == pytest.approx(50 / 150)
    assert box_iou([[0, 0, 10, 10]], [[20, 20, 30, 30]])[0] == 0
    with pytest.raises(ValueError, match="shape"):
        box_iou(np.zeros((3, 4)), np.zeros((2, 4)))


def test_agrees_with_armorys_metrics():
    from armory.metrics.task import video_tracking_mean_iou, video_tracking_mean_success_rate

    rng = np.random.default_rng(0)
    for _ in range(5):
        gt, pred = random_boxes(rng, 12), random_boxes(rng, 12)
        pred[3] = gt[3]
        ours = video_mean_iou(gt, pred)
        theirs = video_tracking_mean_iou([{"boxes": gt}], [{"boxes": pred}])
        assert ours == pytest.approx(float(np.ravel(theirs)[0]), abs=1e-12)
        theirs_sr = video_tracking_mean_success_rate([{"boxes": gt}], [{"boxes": pred}])
        assert video_success_rate(gt, pred) == pytest.approx(float(np.ravel(theirs_sr)[0]), abs=1e-12)


def test_miou_is_percent_of_mean_over_videos():
    assert miou_percent([0.5, 0.7]) == pytest.approx(60.0)
    with pytest.raises(ValueError):
        miou_percent([])
    with pytest.raises(ValueError, match="2 frames"):
        video_mean_iou(np.zeros((1, 4)), np.zeros((1, 4)))


def test_position_and_size_split_what_each_error_costs():
    rng = np.random.default_rng(1)
    gt = random_boxes(rng, 20)
    centre = (gt[:, :2] + gt[:, 2:]) / 2
    half = (gt[:, 2:] - gt[:, :2]) / 2
    scaled = np.c_[centre - 1.7 * half, centre + 1.7 * half]  # right centres, wrong sizes
    shifted = gt + np.c_[rng.uniform(-20, 20, (20, 2)), np.zeros((20, 2))][:, [0, 1, 0, 1]]  # right sizes
    size_only = position_and_size_miou(gt, scaled)
    assert size_only["true_size"] == pytest.approx(100)
    assert size_only["true_centre"] == pytest.approx(size_only["miou"])
    assert size_only["miou"] == pytest.approx(100 / 1.7**2)
    position_only = position_and_size_miou(gt, shifted)
    assert position_only["true_centre"] == pytest.approx(100)
    assert position_only["true_size"] == pytest.approx(position_only["miou"])
    assert position_only["miou"] < 90
    assert position_only["miou"] == pytest.approx(100 * video_mean_iou(gt, shifted))
    gt[4] = np.nan  # frames without a ground truth are left out, as in every metric
    assert position_and_size_miou(gt, shifted)["true_centre"] == pytest.approx(100)
