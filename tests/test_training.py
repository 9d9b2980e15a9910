from pathlib import Path

import numpy as np
import torch

from armory_siammtl.data.synthetic import synthetic_tracks
from armory_siammtl.models import ModelVariant, load_model
from armory_siammtl.models.checkpoint import read_checkpoint, read_state_dict, sha256_of
from armory_siammtl.training.trainer import TrainConfig, Trainer, training_batch

SMALL = dict(instance_size=159, batch_size=4, val_pairs=4, val_videos=1)
WEIGHTS = Path(__file__).resolve().parents[1] / "model_weights"


def _tracks():
    return synthetic_tracks([1, 2], num_frames=4, height=160, width=200)


def test_short_training_lowers_both_losses(tmp_path):
    tracks = _tracks()
    trainer = Trainer(TrainConfig(out_dir=str(tmp_path), variant=ModelVariant(0.5, "shallow"), epochs=3, iters_per_epoch=6, **SMALL),
                      tracks, tracks)
    batch = training_batch(tracks, np.random.default_rng(123), trainer.cfg, trainer.anchors, torch.Generator().manual_seed(1))

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
    record = read_checkpoint(tmp_path / "best.pth")
    assert record["training"]["instance_size"] == 159 and record["training"]["kpt_weight"] == 0.5
    assert record["network"]["head"] == "shallow"


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


def test_head_pretraining_freezes_backbone_and_rpn(tmp_path):
    tracks = _tracks()
    trainer = Trainer(TrainConfig(out_dir=str(tmp_path), head_only=True, epochs=1, iters_per_epoch=2, **SMALL),
                      tracks, tracks)
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
