from pathlib import Path

import numpy as np
import pytest
import torch

from armory_siammtl.data.synthetic import synthetic_tracks
from armory_siammtl.models import ModelVariant, load_model
from armory_siammtl.models.weights_file import read_state_dict, read_weights, sha256_of
from armory_siammtl.training.trainer import TrainConfig, Trainer

SMALL = dict(instance_size=159, batch_size=4, val_pairs=4, val_videos=1)
WEIGHTS = Path(__file__).resolve().parents[1] / "armory_siammtl" / "model_weights"


def _tracks():
    return synthetic_tracks([1, 2], num_frames=4, height=160, width=200)


@pytest.mark.parametrize("reference", [False, True], ids=["heatmap_bce+batchnorm", "softmax_ce+skelevision"])
def test_short_training_lowers_both_losses(tmp_path, reference):
    tracks = _tracks()
    style = dict(keypoint_loss="softmax_ce", head_style="skelevision") if reference else {}
    trainer = Trainer(
        TrainConfig(
            out_dir=str(tmp_path), variant=ModelVariant(0.5, "shallow"), epochs=3, iters_per_epoch=6, **style, **SMALL
        ),
        tracks,
        tracks,
    )
    if reference:  # the reference head: 16x16 logits before the resize to 127
        assert trainer.model.kpt_head.raw_logits(torch.zeros(1, 256, 6, 6)).shape[-1] == 16
    batch = next(iter(trainer.pair_batches(tracks, 123, 1)))

    def losses():
        trainer.model.train()
        with torch.no_grad():
            return {k: float(v) for k, v in trainer.step_losses(batch).items()}

    before = losses()
    trainer.fit()
    after = losses()
    assert after["cls"] < before["cls"] and after["kpt"] < before["kpt"], (before, after)
    assert (tmp_path / "metrics.csv").is_file() and (tmp_path / "best.pth").is_file()
    digest = (tmp_path / "best.pth.sha256").read_text().split()[0]
    assert digest == sha256_of(tmp_path / "best.pth")
    assert any(k.startswith("kpt_head.") for k in read_state_dict(tmp_path / "best.pth"))
    record = read_weights(tmp_path / "best.pth")
    assert record["training"]["instance_size"] == 159 and record["training"]["kpt_weight"] == 0.5
    assert record["network"]["head"] == "shallow"
    assert record["training"]["keypoint_loss"] == ("softmax_ce" if reference else "heatmap_bce")
    assert load_model(ModelVariant(0.5, "shallow", weights=tmp_path / "best.pth")).config.head_style == (
        "skelevision" if reference else "batchnorm"
    )


def test_resuming_gives_the_same_result_as_not_stopping(tmp_path):
    tracks = _tracks()
    straight = Trainer(TrainConfig(out_dir=str(tmp_path / "a"), epochs=2, iters_per_epoch=3, **SMALL), tracks, tracks)
    straight.fit()
    stopped = Trainer(TrainConfig(out_dir=str(tmp_path / "b"), epochs=1, iters_per_epoch=3, **SMALL), tracks, tracks)
    stopped.fit()
    resumed = Trainer(TrainConfig(out_dir=str(tmp_path / "b"), epochs=2, iters_per_epoch=3, **SMALL), tracks, tracks)
    assert resumed.resume() and resumed.start_epoch == 1
    resumed.fit()
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert [r["train_total"] for r in straight.history] == [r["train_total"] for r in resumed.history]
    from armory_siammtl.training.curves import write_curves

    table = write_curves([tmp_path / "a", tmp_path / "b"], tmp_path / "curves")
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert [row.split("|")[1].strip() for row in rows] == ["0", "1"]  # no init row: no starting weights
    best = max(straight.history, key=lambda r: r["val_miou"])["val_miou"]
    assert f"**{best:.2f}**" in table and (tmp_path / "curves" / "learning_curves.png").stat().st_size > 1000
    with pytest.raises(FileNotFoundError, match="no metrics.csv"):
        write_curves([tmp_path / "curves"], tmp_path / "again")

    from armory_siammtl.training.curves import rank_candidates

    ranked = rank_candidates([tmp_path / "a", tmp_path / "b"])
    best = max(straight.history, key=lambda r: r["val_miou"])
    assert f"row {best['epoch']} (val mIoU {best['val_miou']:.2f})" in ranked
    other = Trainer(
        TrainConfig(out_dir=str(tmp_path / "c"), epochs=1, iters_per_epoch=1, **dict(SMALL, seed=5)), tracks, tracks
    )
    other.fit()
    with pytest.raises(ValueError, match="validate on different data"):
        rank_candidates([tmp_path / "a", tmp_path / "c"])


def test_head_pretraining_freezes_backbone_and_rpn(tmp_path):
    tracks = _tracks()
    trainer = Trainer(
        TrainConfig(out_dir=str(tmp_path), head_only=True, epochs=1, iters_per_epoch=2, **SMALL), tracks, tracks
    )
    assert trainer.cfg.lr == 1e-3 and trainer.cfg.variant.head == "shallow"
    frozen = {k: v.clone() for k, v in trainer.model.state_dict().items() if not k.startswith("kpt_head.")}
    trainer.fit()
    for key, value in frozen.items():
        assert torch.equal(value, trainer.model.state_dict()[key]), key


def test_project_mtl_head_localises_keypoints_and_stl_has_none():
    import pytest

    from armory_siammtl.evaluation.keypoints import keypoint_accuracy

    mtl = load_model(ModelVariant(0.2, "shallow", weights=WEIGHTS / "siamrpn_alex_mtl_l02.pth"))
    held_out = synthetic_tracks([900_000, 900_001], num_frames=12, height=480, width=640)
    scores = keypoint_accuracy(mtl, held_out, pairs=32)
    assert scores["visible_keypoints"] > 300
    assert scores["head"]["pck"] > 70 > 10 > scores["uniform_chance"]["pck"]
    assert scores["head"]["pixel_error"] < 0.2 * scores["uniform_chance"]["pixel_error"]
    stl = load_model(ModelVariant(weights=WEIGHTS / "siamrpn_alex_stl.pth"))
    with pytest.raises(ValueError, match="no keypoint head"):
        keypoint_accuracy(stl, held_out)


def test_an_epoch_killed_before_its_metrics_file_is_kept_whole(tmp_path, monkeypatch):
    """last.pth is the epoch's one record (weights, optimizer, every epoch's metrics): a run killed after
    writing it but before metrics.json loses nothing, and the best epoch is chosen over all epochs."""
    import pytest

    tracks = _tracks()
    cfg = dict(out_dir=str(tmp_path), epochs=2, iters_per_epoch=2, **SMALL)
    from armory_siammtl.training.run_folder import RunFolder

    writes = []
    original = RunFolder.write_log

    def killed_on_second_epoch(self, history):
        writes.append(len(history))
        if len(history) == 2:
            raise KeyboardInterrupt("killed between last.pth and metrics.json")
        original(self, history)

    monkeypatch.setattr(RunFolder, "write_log", killed_on_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        Trainer(TrainConfig(**cfg), tracks, tracks).fit()
    monkeypatch.setattr(RunFolder, "write_log", original)
    import json

    assert len(json.loads((tmp_path / "metrics.json").read_text())["epochs"]) == 1  # the stale log
    resumed = Trainer(TrainConfig(**cfg), tracks, tracks)
    assert resumed.resume() and resumed.start_epoch == 2
    logged = json.loads((tmp_path / "metrics.json").read_text())["epochs"]
    assert [r["epoch"] for r in logged] == [0, 1]
    assert resumed.fit() == max(logged, key=lambda r: r["val_miou"])


def test_resuming_with_other_model_settings_is_refused(tmp_path):
    import pytest

    tracks = _tracks()
    base = dict(out_dir=str(tmp_path), epochs=1, iters_per_epoch=1, **SMALL)
    Trainer(TrainConfig(variant=ModelVariant(0.5, "shallow"), **base), tracks, tracks).fit()
    for variant, message in [
        (ModelVariant(0.2, "shallow"), "kpt_weight=0.5; this run asks for kpt_weight=0.2"),
        (ModelVariant(0.5, "deep"), "head='shallow'; this run asks for head='deep'"),
        (ModelVariant(), "head='shallow', kpt_weight=0.5; this run asks for head=None"),
    ]:
        with pytest.raises(ValueError, match=f"last.pth was trained with {message}.*choose another --out"):
            Trainer(TrainConfig(variant=variant, **dict(base, epochs=2)), tracks, tracks).resume()
    with pytest.raises(ValueError, match="seed=0; this run asks for seed=1"):
        Trainer(TrainConfig(variant=ModelVariant(0.5, "shallow"), **dict(base, seed=1)), tracks, tracks).resume()


def test_checkpoints_describe_themselves(tmp_path):
    from armory_siammtl.models.metadata import METADATA_KEY, tensors_sha256

    tracks = _tracks()
    Trainer(
        TrainConfig(
            out_dir=str(tmp_path),
            variant=ModelVariant(0.5, "shallow"),
            epochs=1,
            iters_per_epoch=1,
            command="armory-siammtl train --kpt-weight 0.5",
            **SMALL,
        ),
        tracks,
        tracks,
    ).fit()
    payload = read_weights(tmp_path / "best.pth")
    block = payload[METADATA_KEY]
    assert (block["kpt_weight"], block["head"], block["pretrained_head"]) == (0.5, "shallow", False)
    assert block["command"] == "armory-siammtl train --kpt-weight 0.5"
    assert block["tracking"]["instance_size"] == 255
    assert block["tensors_sha256"] == tensors_sha256(payload["state_dict"])


def test_zero_or_negative_training_sizes_are_refused():
    import pytest

    for field in ("epochs", "iters_per_epoch", "batch_size", "val_pairs", "val_videos"):
        with pytest.raises(ValueError, match=f"training {field} must be a whole number >= 1, got 0"):
            TrainConfig(out_dir="unused", **{field: 0})
    with pytest.raises(ValueError, match=r"training lr must be a finite number in \(0, .*\], got nan"):
        TrainConfig(out_dir="unused", lr=float("nan"))


def test_pysot_weighted_l1_box_loss_by_hand():
    from armory_siammtl.training.losses import regression_loss

    # 2 pairs, 1 anchor position x 3 anchors: loc (B, 4K, 1, 1) with K = 3
    loc = torch.zeros(2, 12, 1, 1)
    deltas = torch.tensor(
        [[[1.0, 0, 0, 0], [0, 2.0, 0, 0], [5.0, 5, 5, 5]], [[0, 0, 0, 3.0], [9.0, 9, 9, 9], [9.0, 9, 9, 9]]]
    )
    labels = torch.tensor([[1, 1, 0], [1, -1, 0]])
    # pair 1: mean over its 2 positives of the summed |error| = (1 + 2) / 2; pair 2: 3 / 1; batch mean
    assert float(regression_loss(loc, deltas, labels, "l1")) == pytest.approx(((1 + 2) / 2 + 3) / 2)


def test_blur_keeps_flat_images_and_smooths_noise():
    from armory_siammtl.training.pairs import _blur

    flat = torch.full((3, 20, 20), 0.3)
    assert torch.allclose(_blur(flat, 1.0), flat, atol=1e-6)
    noise = torch.rand(3, 40, 40, generator=torch.Generator().manual_seed(0))
    assert float(_blur(noise, 1.0).std()) < 0.6 * float(noise.std())


@pytest.fixture()
def pysot_start(tmp_path):
    """A pysot-format start checkpoint (plain state_dict) for the reference recipe, which fine-tunes one."""
    from helpers import calibrated_model

    path = tmp_path / "siamrpn_alex_dwxcorr.pth"
    torch.save(calibrated_model(instance_size=159).state_dict(), path)
    return str(path)


def test_the_reference_recipe(tmp_path, pysot_start):
    tracks = _tracks()
    with pytest.raises(ValueError, match="fine-tunes pysot's siamrpn_alex_dwxcorr"):
        TrainConfig.skelevision(out_dir=str(tmp_path), variant=ModelVariant(0.5, "shallow"))
    cfg = TrainConfig.skelevision(
        out_dir=str(tmp_path),
        variant=ModelVariant(0.5, "shallow"),
        init_weights=pysot_start,
        epochs=2,
        **dict(SMALL, batch_size=1),
        global_batch=2,
    )
    assert (cfg.optimizer, cfg.box_loss, cfg.grad_clip, cfg.keypoint_loss, cfg.head_style, cfg.select_by, cfg.seed) == (
        "sgd",
        "l1",
        None,
        "softmax_ce",
        "skelevision",
        "val_total",
        42,
    )
    assert (cfg.augment.negative, cfg.augment.blur, cfg.augment.frame_range, cfg.negatives) == (0.0, 0.2, 10, 48)
    trainer = Trainer(cfg, tracks, tracks)
    # item-based epochs: 2 tracks x 4 frames = 8 items, a global batch of 2 -> 4 steps, each item once
    assert (trainer.cfg.batch_size, trainer.cfg.iters_per_epoch) == (2, 4)
    dataset = trainer.pair_batches(tracks, 0, 4).dataset
    assert sorted(dataset.items) == [(k, j) for k in range(2) for j in range(4)]
    assert dataset.items != trainer.pair_batches(tracks, 1, 4).dataset.items  # reshuffled every epoch
    best = trainer.fit()
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(8e-4 * 0.95**2)
    assert best == min(trainer.history, key=lambda r: r["val_total"])  # selected by the lowest validation loss
    assert read_weights(tmp_path / "best.pth")["epoch"] == best["epoch"]
    assert read_weights(tmp_path / "last.pth")["training"]["box_loss"] == "l1"


def test_reference_validation_pairs_are_every_item_once_unjittered_from_the_previous_frame(tmp_path, pysot_start):
    from armory_siammtl.training.pairs import template_view

    tracks = _tracks()
    cfg = TrainConfig.skelevision(
        out_dir=str(tmp_path), init_weights=pysot_start, **dict(SMALL, batch_size=3), global_batch=None
    )
    trainer = Trainer(cfg, tracks, tracks)
    batches = list(trainer.validation_batches(tracks, steps=1))
    assert [len(b["labels"]) for b in batches] == [3, 3, 2]  # 8 items, each once, the last batch shorter
    again = list(trainer.validation_batches(tracks, steps=1))
    assert all(torch.equal(a["template"], b["template"]) for a, b in zip(batches, again))  # no jitter, no draw
    from armory_siammtl.models.siamrpn import to_model_input

    expected = template_view(tracks[0].frame(1), tracks[0].boxes[1], exemplar=127)[0]  # item (0, 2): frame 1
    np.testing.assert_allclose(batches[0]["template"][2], to_model_input(expected[None])[0], atol=1e-3)


def test_reference_data_filters_and_splits(tmp_path, monkeypatch):
    import json

    from armory_siammtl.data import lasot
    from armory_siammtl.data.coco import coco_person_tracks
    from helpers import write_coco_fixture, write_frames

    annotations = write_coco_fixture(tmp_path)
    data = json.loads(annotations.read_text())
    data["annotations"][0]["num_keypoints"] = 5  # at least 5 keypoints (package), not more than 5 (reference)
    data["annotations"][1].update(num_keypoints=8, bbox=[0, 0, 4, 5])  # 20 square pixels: only the reference's
    annotations.write_text(json.dumps(data))

    def kept(selection):
        return [t.boxes[0].tolist() for t in coco_person_tracks(annotations, tmp_path / "images", selection=selection)]

    assert kept("package") == [[40, 30, 90, 100]] and kept("skelevision") == [[0, 0, 4, 5]]
    # LaSOT: the reference counts valid frames (area > 16, no negative corner), the package raw frames
    seq = tmp_path / "person" / "person-1"
    write_frames(seq / "img", 8)
    lines = ["0,0,10,20", "0,0,0,0", "3,3,10,20", "-2,4,10,20", "5,5,10,20", "6,6,3,3", "7,7,10,20", "8,8,10,20"]
    (seq / "groundtruth.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.setitem(lasot.SPLITS, "train", (0, 3))
    monkeypatch.setitem(lasot.SPLITS, "val", (3, 5))
    valid = lasot.load_lasot_track(seq, "train", "valid_frames")
    assert valid.boxes[:, 0].tolist() == [0, 3, 5] and lasot.load_lasot_track(seq, "val", "valid_frames").boxes[
        :, 0
    ].tolist() == [7, 8]
    assert lasot.load_lasot_track(seq, "train", "frames").boxes[:, 0].tolist() == [0, 3]  # frames 0-2 minus the absent


def test_pysots_anchor_targets_sample_exactly_48_negatives():
    from armory_siammtl.models.anchors import anchor_grid
    from armory_siammtl.training.losses import anchor_targets

    anchors = anchor_grid(17, 8, (0.33, 0.5, 1, 2, 3), (8,), center=127)
    box = [100.0, 90.0, 160.0, 170.0]
    ours, _ = anchor_targets(anchors, box, torch.Generator().manual_seed(0))
    pysot, _ = anchor_targets(anchors, box, torch.Generator().manual_seed(0), negatives=48)
    positives = int((ours == 1).sum())
    assert 0 < positives < 16 and int((ours == 0).sum()) == 64 - positives  # ours fill the pair to 64
    assert int((pysot == 1).sum()) == positives and int((pysot == 0).sum()) == 48


@pytest.mark.parametrize("batch_norm,changes", [("frozen", False), ("updating", True)])
def test_head_pre_training_keeps_or_updates_the_backbones_batch_norm(tmp_path, batch_norm, changes):
    """The reference froze the backbone with requires_grad alone: its batch-norm statistics kept updating
    during head pre-training, and were kept; the package's default freezes them too. The RPN is untouched."""
    tracks = _tracks()
    cfg = TrainConfig(
        out_dir=str(tmp_path),
        variant=ModelVariant(1.0, "shallow"),
        head_only=True,
        epochs=1,
        iters_per_epoch=2,
        head_only_batch_norm=batch_norm,
        **SMALL,
    )
    trainer = Trainer(cfg, tracks, tracks)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit()
    after = trainer.model.state_dict()
    stats = [k for k in before if k.startswith("backbone.") and k.endswith("running_mean")]
    assert stats and any(not torch.equal(before[k], after[k]) for k in stats) == changes
    assert all(
        torch.equal(before[k], after[k])
        for k in before
        if k.startswith(("rpn_head.", "backbone."))
        and not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )  # frozen parameters
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("rpn_head."))


def test_bf16_autocast_runs_the_network_in_bf16_and_fp16_needs_cuda(tmp_path):
    tracks = _tracks()
    trainer = Trainer(
        TrainConfig(
            out_dir=str(tmp_path),
            variant=ModelVariant(0.5, "shallow"),
            amp="bf16",
            device="cpu",
            epochs=1,
            iters_per_epoch=2,
            **SMALL,
        ),
        tracks,
        tracks,
    )
    batch = next(iter(trainer.pair_batches(tracks, 7, 1)))
    trainer.model.train()
    with torch.no_grad():
        full = {k: float(v) for k, v in trainer.step_losses(batch).items()}  # no net given: fp32
        half = {k: float(v) for k, v in trainer.step_losses(batch, trainer.net).items()}
    for k in full:  # bf16 keeps 8 bits of mantissa: close, but not the fp32 numbers
        assert half[k] == pytest.approx(full[k], rel=0.05), (k, half, full)
    assert any(half[k] != full[k] for k in full)
    trainer.fit()
    assert "scaler" in read_weights(tmp_path / "last.pth")
    with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
        Trainer(TrainConfig(out_dir=str(tmp_path / "b"), amp="fp16", device="cpu", **SMALL), tracks, tracks)


def test_low_resolution_pairs_lose_detail_but_keep_the_mean():
    from armory_siammtl.training.pairs import Augment, _lower_resolution

    image = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0))
    low = _lower_resolution(image, 0.5)
    assert low.shape == image.shape
    assert float(low.mean()) == pytest.approx(float(image.mean()), abs=0.01)
    assert float(low.std()) < 0.7 * float(image.std())  # white noise loses most of its variance
    flat = torch.full((3, 40, 40), 0.25)
    assert torch.allclose(_lower_resolution(flat, 0.3), flat, atol=1e-6)
    with pytest.raises(ValueError, match="lowres must lie in"):
        Augment(lowres=1.5)


def test_procedural_people_walk_in_front_of_a_photograph(tmp_path):
    from armory_siammtl.data.splits import backdrop_files
    from armory_siammtl.data.synthetic import make_video

    photo = np.zeros((90, 120, 3), np.uint8)
    photo[:, :, 2] = 200  # a blue photograph
    plain, shot = make_video(3, 2, 160, 200), make_video(3, 2, 160, 200, backdrop_image=photo)
    np.testing.assert_array_equal(plain.boxes, shot.boxes)  # the same walker, only the backdrop changes
    corner = ~(plain.person_masks[0] | plain.patch_masks[0].astype(bool))
    assert (shot.video[0][corner][:, 2] > 150).mean() > 0.8 and (plain.video[0][corner][:, 2] > 150).mean() < 0.5
    with pytest.raises(ValueError, match="evaluation video"):
        backdrop_files([str(tmp_path / "Crossing" / "img")])
    with pytest.raises(FileNotFoundError, match="no backdrop images"):
        backdrop_files([str(tmp_path)])


def test_a_distractor_walks_behind_the_person_and_changes_nothing_of_its_own():
    from armory_siammtl.data.synthetic import make_video, synthetic_tracks

    plain, crowded = make_video(5, 24, 480, 640), make_video(5, 24, 480, 640, distractor=True)
    for field in ("boxes", "keypoints", "person_masks", "gs_coords"):
        np.testing.assert_array_equal(getattr(plain, field), getattr(crowded, field))
    changed = (plain.video != crowded.video).any(axis=-1)
    assert not changed[plain.person_masks].any()  # drawn behind: no pixel of the person changes
    assert all(changed[t].sum() > 200 for t in range(24))  # a second figure in every frame
    assert (crowded.patch_masks <= plain.patch_masks).all() and (crowded.patch_masks < plain.patch_masks).any()
    columns = np.nonzero(changed[12].any(axis=0))[0]
    box = plain.boxes[12]
    assert abs(columns.mean() - (box[0] + box[2]) / 2) < 4 * (box[2] - box[0])  # near the person, to distract
    tracks = synthetic_tracks(range(20), 2, 160, 200, distractors=0.5)
    plain_tracks = synthetic_tracks(range(20), 2, 160, 200)
    with_second = [not np.array_equal(t.video(), p.video()) for t, p in zip(tracks, plain_tracks)]
    assert 4 <= sum(with_second) <= 16
    with pytest.raises(ValueError, match="distractor must lie in"):
        synthetic_tracks([1], distractors=1.5)


def test_weight_average_is_the_mean_of_the_epochs_and_resumes(tmp_path, monkeypatch):
    """--average-from 2 of 3 epochs: average.pth's parameters are the mean of epochs 2 and 3, its batch-norm
    statistics are recomputed (neither epoch's), it is validated as one more candidate for best.pth, and a
    run killed after epoch 2 resumes to the same average."""
    import json

    tracks = _tracks()
    cfg = dict(epochs=3, iters_per_epoch=2, average_from=2, **SMALL)
    weights, original = [], Trainer._end_epoch

    def recording(self, epoch, row):
        weights.append({k: v.clone() for k, v in self.model.state_dict().items()})
        original(self, epoch, row)
        if epoch == 1 and self.folder.path.name == "killed":
            raise KeyboardInterrupt("killed after epoch 2")

    monkeypatch.setattr(Trainer, "_end_epoch", recording)
    Trainer(TrainConfig(out_dir=str(tmp_path / "straight"), **cfg), tracks, tracks).fit()
    average = read_state_dict(tmp_path / "straight" / "average.pth")
    convs = [k for k, v in average.items() if v.dim() == 4]
    assert convs
    for name in convs:
        assert not torch.allclose(weights[1][name], weights[2][name]), name
        assert torch.allclose(average[name], (weights[1][name] + weights[2][name]) / 2, rtol=1e-5, atol=1e-7), name
    stats = [k for k in average if k.endswith("running_var")]
    assert stats and all(not torch.equal(average[k], w[k]) for k in stats for w in weights[1:])
    rows = json.loads((tmp_path / "straight" / "metrics.json").read_text())["epochs"]
    assert [r["epoch"] for r in rows] == [0, 1, 2, "average 2-3"]
    assert np.isfinite(rows[-1]["val_miou"]) and np.isfinite(rows[-1]["val_total"])
    assert read_weights(tmp_path / "straight" / "average.pth")["averaged_epochs"] == 2
    best = max(rows, key=lambda r: r["val_miou"])  # the first of equals, as best.pth keeps the first
    assert read_weights(tmp_path / "straight" / "best.pth")["epoch"] == best["epoch"]

    with pytest.raises(KeyboardInterrupt):
        Trainer(TrainConfig(out_dir=str(tmp_path / "killed"), **cfg), tracks, tracks).fit()
    resumed = Trainer(TrainConfig(out_dir=str(tmp_path / "killed"), **cfg), tracks, tracks)
    assert resumed.resume() and resumed.start_epoch == 2
    resumed.fit()
    again = read_state_dict(tmp_path / "killed" / "average.pth")
    for key, value in average.items():
        assert torch.equal(value, again[key]), key
    with pytest.raises(ValueError, match="average_from must be an epoch from 1 to 3, got 4"):
        TrainConfig(out_dir="unused", epochs=3, average_from=4)


def test_a_run_from_init_weights_validates_them_first(tmp_path):
    """The start weights are row "init", scored as the run that wrote them scored them, and compete for best.pth."""
    import json

    tracks = _tracks()
    Trainer(TrainConfig(out_dir=str(tmp_path / "first"), epochs=1, iters_per_epoch=2, **SMALL), tracks, tracks).fit()
    first = json.loads((tmp_path / "first" / "metrics.json").read_text())["epochs"]
    Trainer(
        TrainConfig(
            out_dir=str(tmp_path / "more"),
            init_weights=str(tmp_path / "first" / "best.pth"),
            epochs=1,
            iters_per_epoch=2,
            lr=1e-2,
            **SMALL,
        ),
        tracks,
        tracks,
    ).fit()
    rows = json.loads((tmp_path / "more" / "metrics.json").read_text())["epochs"]
    assert [r["epoch"] for r in rows] == ["init", 0]
    assert rows[0]["val_total"] == pytest.approx(first[0]["val_total"], rel=1e-5)
    assert rows[0]["val_miou"] == pytest.approx(first[0]["val_miou"], abs=1e-3)
    assert read_weights(tmp_path / "more" / "best.pth")["epoch"] == max(rows, key=lambda r: r["val_miou"])["epoch"]
    header = (tmp_path / "more" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "epoch" and "train_total" in header
    # a margin for validation noise: the start weights stay unless beaten by more than min_gain
    kept = Trainer(
        TrainConfig(
            out_dir=str(tmp_path / "kept"),
            init_weights=str(tmp_path / "first" / "best.pth"),
            epochs=1,
            iters_per_epoch=2,
            lr=1e-2,
            min_gain=1000.0,
            **SMALL,
        ),
        tracks,
        tracks,
    )
    assert kept.fit()["epoch"] == "init" and read_weights(tmp_path / "kept" / "best.pth")["epoch"] == "init"
    init, better, much_better = ({"epoch": e, "val_miou": m} for e, m in (("init", 50.0), (0, 999.0), (1, 1050.1)))
    assert kept._badness(init) < kept._badness(better) and kept._badness(much_better) < kept._badness(init)
    with pytest.raises(ValueError, match="min_gain must be a finite number >= 0, got -1"):
        TrainConfig(out_dir="unused", min_gain=-1)


def test_a_second_training_run_on_the_same_folder_is_refused(tmp_path):
    tracks = _tracks()
    first = Trainer(TrainConfig(out_dir=str(tmp_path), epochs=1, iters_per_epoch=1, **SMALL), tracks, tracks)
    second = Trainer(TrainConfig(out_dir=str(tmp_path), epochs=1, iters_per_epoch=1, **SMALL), tracks, tracks)
    with first.exclusive():
        with pytest.raises(ValueError, match=f"another training run is writing {tmp_path}"):
            with second.exclusive():
                second.fit()
        assert not (tmp_path / "last.pth").exists()
    with second.exclusive():  # released with the block
        second.fit()
    assert (tmp_path / "last.pth").is_file()


def test_interpolating_between_two_runs_validates_each_mixture(tmp_path):
    """--interpolate-to: alpha 0 and 1 are the two files as they are (scored as their own runs scored them),
    alpha 0.5 holds the mean of every parameter with batch-norm statistics of its own; best.pth is the best row,
    alpha 0 (the start weights, row ``init``) counting ``min_gain`` better as in training."""
    import json

    tracks = _tracks()
    for name, seed in (("a", 0), ("b", 1)):
        Trainer(
            TrainConfig(out_dir=str(tmp_path / name), epochs=1, iters_per_epoch=2, seed=seed, **SMALL), tracks, tracks
        ).fit()
    trainer = Trainer(
        TrainConfig(
            out_dir=str(tmp_path / "mix"), init_weights=str(tmp_path / "a" / "best.pth"), iters_per_epoch=2, **SMALL
        ),
        tracks,
        tracks,
    )
    best = trainer.interpolate(tmp_path / "b" / "best.pth", [0, 0.5, 1])
    a, b = (read_state_dict(tmp_path / n / "best.pth") for n in "ab")
    ends = {0: a, 1: b}
    for alpha, expected in ends.items():
        state = read_state_dict(tmp_path / "mix" / f"alpha_{alpha}.pth")
        assert all(torch.equal(state[k], v) for k, v in expected.items())
    mid = read_state_dict(tmp_path / "mix" / "alpha_0.5.pth")
    for key in (k for k, v in a.items() if v.dim() == 4):
        assert torch.allclose(mid[key], (a[key] + b[key]) / 2, rtol=1e-5, atol=1e-7), key
    assert all(not torch.equal(mid[k], a[k]) and not torch.equal(mid[k], b[k]) for k in a if k.endswith("running_mean"))
    rows = json.loads((tmp_path / "mix" / "metrics.json").read_text())["epochs"]
    assert [r["epoch"] for r in rows] == ["init", "alpha 0.5", "alpha 1"]
    first = json.loads((tmp_path / "a" / "metrics.json").read_text())["epochs"][0]
    assert rows[0]["val_total"] == pytest.approx(first["val_total"], rel=1e-5)
    assert best == max(rows, key=lambda r: r["val_miou"])
    alpha = 0.0 if best["epoch"] == "init" else float(best["epoch"].split()[1])
    assert read_weights(tmp_path / "mix" / "best.pth")["interpolated"]["alpha"] == alpha
    for start, end in ("ab", "ba"):  # a margin no loss difference can beat keeps either file as the start
        kept = Trainer(  # (without the credit, the file with the lower loss would win one of the two)
            TrainConfig(
                out_dir=str(tmp_path / f"kept_{start}"),
                init_weights=str(tmp_path / start / "best.pth"),
                iters_per_epoch=2,
                select_by="val_total",
                min_gain=1e6,
                **SMALL,
            ),
            tracks,
            tracks,
        ).interpolate(tmp_path / end / "best.pth", [0, 1])
        assert kept["epoch"] == "init"
        assert read_weights(tmp_path / f"kept_{start}" / "best.pth")["interpolated"]["alpha"] == 0.0
    with pytest.raises(ValueError, match="holds a training run"):
        Trainer(
            TrainConfig(out_dir=str(tmp_path / "a"), init_weights=str(tmp_path / "a" / "best.pth"), **SMALL),
            tracks,
            tracks,
        ).interpolate(tmp_path / "b" / "best.pth", [0.5])
    from armory_siammtl.training.averaging import interpolate

    with pytest.raises(ValueError, match="alpha must lie in"):
        interpolate(a, b, 1.5)


def test_train_refuses_bad_interpolation_alphas_before_reading_data(tmp_path, capsys):
    from armory_siammtl.cli import main

    weights = str(WEIGHTS / "siamrpn_alex_stl.pth")
    assert (
        main(
            [
                "train",
                "--out",
                str(tmp_path),
                "--init-weights",
                weights,
                "--interpolate-to",
                weights,
                "--alphas",
                "0,half",
            ]
        )
        == 2
    )
    assert "--alphas must be comma-separated numbers in [0, 1], got '0,half'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_resumed_run_refuses_every_changed_setting_before_writing(tmp_path):
    """Anything that changes what a run computes is in its record; a resume that changes it is refused
    before metrics.json or any checkpoint is touched."""
    import dataclasses

    from armory_siammtl.training.pairs import Augment

    tracks = _tracks()
    first = TrainConfig(out_dir=str(tmp_path), epochs=1, iters_per_epoch=2, **SMALL)
    Trainer(first, tracks, tracks).fit()
    written = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    for change, name in [
        (dict(lr=0.01), "lr"),
        (dict(optimizer="sgd"), "optimizer"),
        (dict(batch_size=2, val_pairs=4), "batch_size"),
        (dict(iters_per_epoch=3), "iters_per_epoch"),
        (dict(augment=Augment(lowres=0.5)), "augment"),
        (dict(data={"videos": 7}), "data"),
    ]:
        again = dataclasses.replace(first, epochs=2, **change)
        with pytest.raises(ValueError, match=f"{name}="):
            Trainer(again, tracks, tracks).resume()
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == written, name
    longer = Trainer(dataclasses.replace(first, epochs=2), tracks, tracks)  # more epochs is a resumption
    assert longer.resume() and longer.start_epoch == 1


def test_train_flags_replace_the_recipes_settings_one_by_one(tmp_path, pysot_start):
    """`train --recipe skelevision` keeps the reference's settings for every flag not given; --batch-size
    replaces its global batch; fp16 is its default only on CUDA."""
    from armory_siammtl.cli.parser import build_parser
    from armory_siammtl.cli.train import _config
    from armory_siammtl.training.distributed import Worker

    def config(*flags, device="cpu"):
        argv = ["train", "--out", str(tmp_path / "run"), "--kpt-weight", "0.2", "--init-weights", pysot_start, *flags]
        args = build_parser().parse_args(argv)
        args.argv = argv
        variant = ModelVariant.for_training(0.2, None)
        return _config(args, variant, {}, Worker(torch.device(device)))

    package = config()
    assert (package.epochs, package.batch_size, package.global_batch, package.amp) == (10, 16, None, "off")
    reference = config("--recipe", "skelevision")
    assert (reference.epochs, reference.global_batch, reference.optimizer, reference.lr, reference.amp) == (
        50,
        1024,
        "sgd",
        8e-4,
        "off",
    )
    assert config("--recipe", "skelevision", "--head-only").lr == 1e-3
    chosen = config("--recipe", "skelevision", "--batch-size", "8", "--epochs", "3", "--lr", "0.01")
    assert (chosen.batch_size, chosen.global_batch, chosen.epochs, chosen.lr, chosen.optimizer) == (
        8,
        None,
        3,
        0.01,
        "sgd",
    )
    assert config("--recipe", "skelevision", "--global-batch", "64").global_batch == 64
    assert config("--recipe", "skelevision", device="cuda").amp == "fp16"
    assert config("--recipe", "skelevision", "--amp", "off", device="cuda").amp == "off"
    assert config(device="cuda").amp == "off"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--out", "x", "--global-batch", "0"])
    assert "otb_val_sequence" not in package.data  # a run from before the flag resumes with its record
    held_out = config("--otb-train", "seqs", "--otb-val-sequence", "Woman", "--otb-val-sequence", "Jogging")
    assert held_out.data["otb_val_sequence"] == ["Jogging", "Woman"]
