import pytest
import torch

from armory_siammtl.models import ModelVariant, NetworkConfig, SiamRPN, load_weights, save_weights, sha256_of
from armory_siammtl.models.anchors import anchor_grid, base_anchors, score_size
from armory_siammtl.models.keypoint_head import KeypointHead, keypoint_loss
from armory_siammtl.models.weights_file import WeightsError, read_state_dict
from helpers import calibrated_model


def test_shapes_follow_the_paper():
    model = SiamRPN(NetworkConfig(head="shallow")).eval()
    z_f = model.template_features(torch.rand(1, 3, 127, 127))
    assert z_f.shape == (1, 256, 6, 6)
    cls, loc = model.track_outputs(z_f, torch.rand(1, 3, 255, 255))
    assert cls.shape == (1, 10, 17, 17) and loc.shape == (1, 20, 17, 17)
    assert score_size(287) == 21 and score_size(255) == 17


def test_anchor_sizes_match_pysot_rounding():
    # stride 8, area 64: ratio 0.33 -> ws=int(sqrt(64/0.33))=13, hs=int(13*0.33)=4, times scale 8
    wh = base_anchors()
    assert wh.tolist() == [[104, 32], [88, 40], [64, 64], [40, 80], [32, 96]]
    grid = anchor_grid(17)
    assert grid.shape == (5 * 17 * 17, 4)
    assert grid[0, :2].tolist() == [-64, -64] and grid[16, :2].tolist() == [64, -64]


@pytest.mark.parametrize("kind,widths", [("shallow", [128, 64]), ("deep", [128, 128, 64, 64])])
def test_keypoint_head_shapes(kind, widths):
    head = KeypointHead.named(kind)
    convs = [m for m in head.blocks if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == widths
    assert head(torch.rand(2, 256, 6, 6)).shape == (2, 17, 127, 127)


def test_keypoint_loss_ignores_invisible_keypoints():
    torch.manual_seed(0)
    logits = torch.randn(2, 17, 127, 127, requires_grad=True)
    keypoints = torch.rand(2, 17, 2) * 127
    visibility = torch.randint(0, 3, (2, 17))
    visibility[0, 0] = 0
    loss = keypoint_loss(logits, keypoints, visibility)
    moved = keypoints.clone()
    moved[visibility == 0] = torch.rand(int((visibility == 0).sum()), 2) * 127
    assert torch.equal(loss, keypoint_loss(logits, moved, visibility))
    loss.backward()
    assert logits.grad[0, 0].abs().sum() == 0  # an invisible channel gets no gradient
    assert logits.grad[visibility > 0].abs().sum() > 0
    visible_moved = keypoints.clone()
    visible_moved[visibility > 0] += 10
    assert not torch.equal(loss, keypoint_loss(logits, visible_moved, visibility))


def test_pysot_checkpoint_round_trips_every_tensor(tmp_path):
    model = calibrated_model(head="deep")
    # pysot saves {"epoch", "state_dict", "optimizer"}; DataParallel adds a "module." prefix
    payload = {"epoch": 3, "state_dict": {"module." + k: v for k, v in model.state_dict().items()}}
    path = tmp_path / "checkpoint_e3.pth"
    torch.save(payload, path)
    fresh = SiamRPN(NetworkConfig(head="deep"))
    load_weights(fresh, path, expected_sha256=sha256_of(path))
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    plain = tmp_path / "plain.pth"
    digest = save_weights(model, plain, ModelVariant(0.2, "deep"))
    assert digest == sha256_of(plain)
    assert set(read_state_dict(plain)) == set(model.state_dict())


def test_bad_checkpoints_are_refused_with_clear_messages(tmp_path):
    model = SiamRPN()
    with pytest.raises(WeightsError, match="not found"):
        load_weights(model, tmp_path / "missing.pth")
    good = tmp_path / "good.pth"
    save_weights(model, good, ModelVariant())
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(WeightsError, match="truncated"):
        load_weights(SiamRPN(), truncated)
    with pytest.raises(WeightsError, match="sha256"):
        load_weights(SiamRPN(), good, expected_sha256="0" * 64)
    # an STL checkpoint lacks the head; an MTL one has keys the STL model does not know
    with pytest.raises(WeightsError, match="missing keys.*kpt_head.blocks.0.weight"):
        load_weights(SiamRPN(NetworkConfig(head="shallow")), good)
    mtl = tmp_path / "mtl.pth"
    save_weights(SiamRPN(NetworkConfig(head="shallow")), mtl, ModelVariant(0.2, "shallow"))
    with pytest.raises(WeightsError, match="unexpected keys.*kpt_head"):
        load_weights(SiamRPN(), mtl)
    load_weights(SiamRPN(NetworkConfig(head="shallow")), good, allow_missing_prefixes=("kpt_head.",))
    wide = tmp_path / "wide.pth"
    save_weights(SiamRPN(NetworkConfig(width_mult=0.5)), wide, ModelVariant())
    with pytest.raises(WeightsError, match="shape mismatches"):
        load_weights(SiamRPN(), wide)


def test_config_rejects_unknown_head():
    with pytest.raises(ValueError, match="head must be"):
        NetworkConfig(head="huge")


def test_checkpoints_record_their_network_and_load_model_checks_it(tmp_path):
    from armory_siammtl.models import load_model
    from armory_siammtl.models.weights_file import read_weights

    path = tmp_path / "mtl.pth"
    save_weights(calibrated_model(head="shallow"), path, ModelVariant(0.2, "shallow"))
    assert read_weights(path)["network"]["head"] == "shallow"
    model = load_model(ModelVariant(0.2, "shallow", weights=path))
    assert model.kpt_head is not None and not model.training
    wide = tmp_path / "wide.pth"
    save_weights(SiamRPN(NetworkConfig(width_mult=0.5)), wide, ModelVariant())
    with pytest.raises(WeightsError, match="saved for another network: width_mult=0.5"):
        load_model(ModelVariant(weights=wide))
    with pytest.raises(WeightsError, match="never runs random weights"):
        load_model(ModelVariant())


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(kpt_weight=0.2), "needs a head"),
        (dict(kpt_weight=0.0, head="shallow"), "needs a head and an STL model"),
        (dict(kpt_weight=float("nan"), head="shallow"), "finite number >= 0"),
        (dict(kpt_weight=-0.1, head="shallow"), "finite number >= 0"),
        (dict(kpt_weight="much", head="shallow"), "must be a number"),
        (dict(kpt_weight=0.2, head="huge"), "head must be"),
        (dict(kpt_weight=0.0, pretrained_head=True), "pretrained_head needs a keypoint head"),
    ],
)
def test_model_variants_are_validated_in_one_place(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelVariant(**kwargs)


def test_training_variants_default_the_head():
    assert ModelVariant.for_training(0.2).head == "shallow"
    assert ModelVariant.for_training(0.0).head is None
    head_only = ModelVariant.for_training(0.0, head_only=True)
    assert (head_only.kpt_weight, head_only.head) == (1.0, "shallow")


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("touch " + str(_RunsCode.marker),))


@pytest.mark.parametrize("restricted", [False, True], ids=["weights_only", "restricted_unpickler"])
def test_a_pickle_that_runs_code_is_refused_on_every_torch(tmp_path, restricted):
    """weights_only=True where torch has it (>= 1.13); the restricted unpickler of older torch (1.12, the
    official ARMORY image's) is exercised here too, so both paths are tested on any torch."""
    from armory_siammtl.models.weights_file import HAS_WEIGHTS_ONLY, safe_torch_load

    if not restricted and not HAS_WEIGHTS_ONLY:
        with pytest.raises(RuntimeError, match="no torch.load\\(weights_only=True\\) \\(added in torch 1.13\\)"):
            safe_torch_load(tmp_path / "any.pth", restricted=False)
        pytest.skip(f"torch {torch.__version__} has no weights_only; the restricted unpickler is its path")
    _RunsCode.marker = tmp_path / "ran"
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": SiamRPN().state_dict(), "payload": _RunsCode()}, evil)
    with pytest.raises(Exception, match="os.system|posix.system|system"):
        safe_torch_load(evil, restricted=restricted)
    assert not _RunsCode.marker.exists(), "the payload ran"
    good = tmp_path / "good.pth"
    model = calibrated_model(head="shallow")
    save_weights(model, good, ModelVariant(0.2, "shallow"), extra={"epoch": 3})
    loaded = safe_torch_load(good, restricted=restricted)
    assert loaded["epoch"] == 3 and loaded["network"]["head"] == "shallow"
    for key, value in model.state_dict().items():
        assert torch.equal(loaded["state_dict"][key], value), key
    with pytest.raises(WeightsError, match="holding more than tensors"):
        read_state_dict(evil)


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"file": "w.pth", "sha256": ""}, "sha256 '', not 64 hex digits"),
        ({"file": "w.pth", "sha256": None}, "sha256 None, not 64 hex digits"),
        ({"file": "w.pth"}, "sha256 None, not 64 hex digits"),
        ({"file": "../../x.pth", "sha256": "0" * 64}, "must be a plain file name"),
    ],
)
def test_manifests_without_checksums_or_with_paths_are_refused(tmp_path, entry, message):
    import json

    from armory_siammtl.models import load_model

    save_weights(SiamRPN(), tmp_path / "w.pth", ModelVariant())
    (tmp_path / "armory_siammtl_manifest.json").write_text(
        json.dumps({"weights": [dict(entry, kpt_weight=0.0, head=None)]})
    )
    with pytest.raises(WeightsError, match=message):
        load_model(ModelVariant(weights=tmp_path / "w.pth"))


def test_weights_with_nan_tensors_are_refused(tmp_path):
    model = SiamRPN()
    with torch.no_grad():
        model.rpn_head.cls.head[-1].weight[0, 0] = float("nan")
    save_weights(model, tmp_path / "nan.pth", ModelVariant())
    with pytest.raises(WeightsError, match="NaN or infinite values in \\['rpn_head.cls.head.3.weight'\\]"):
        load_weights(SiamRPN(), tmp_path / "nan.pth")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(penalty_k=float("nan")), "penalty_k must be a finite number"),
        (dict(lr=float("inf")), "lr must be a finite number"),
        (dict(instance_size=-1), "instance_size must be a whole number from 127"),
        (dict(instance_size=287.5), "instance_size must be a whole number"),
        (dict(lr=-5), "lr must be a number in \\[0, 1\\]"),
        (dict(window_influence=2), "window_influence must be a number in \\[0, 1\\]"),
        (dict(context_amount=-1), "context_amount must be a number in \\(0, 10\\]"),
        (dict(channel_order="bgra"), "channel_order must be one of"),
    ],
)
def test_tracking_settings_are_finite(kwargs, message):
    from armory_siammtl.tracking import TrackingConfig

    with pytest.raises(ValueError, match=message):
        TrackingConfig(**kwargs)


def test_weights_changed_after_saving_are_refused_by_their_own_metadata(tmp_path):
    from armory_siammtl.models import load_model
    from armory_siammtl.models.weights_file import read_weights

    path = tmp_path / "w.pth"
    save_weights(SiamRPN(), path, ModelVariant())
    payload = read_weights(path)
    payload["state_dict"]["rpn_head.cls.head.3.bias"] += 1.0  # re-saved by hand, metadata kept
    torch.save(payload, path)
    with pytest.raises(WeightsError, match="its tensors hash to .* but its metadata records .* changed after"):
        load_model(ModelVariant(weights=path))


def test_softmax_keypoint_loss_is_a_spatial_cross_entropy_over_visible_keypoints():
    logits = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]], [[1.0, 1.0], [1.0, 5.0]]]])  # (1, 2 keypoints, 2, 2)
    keypoints = torch.tensor([[[1.7, 0.2], [0.4, 1.9]]])  # pixels (x 1, y 0) and (x 0, y 1)
    first = -(1.0 - torch.logsumexp(torch.tensor([0.0, 1.0, 2.0, 3.0]), 0))
    second = -(1.0 - torch.logsumexp(torch.tensor([1.0, 1.0, 1.0, 5.0]), 0))
    both = keypoint_loss(logits, keypoints, torch.tensor([[2, 1]]), kind="softmax_ce")
    assert float(both) == pytest.approx(float(first + second) / 2, abs=1e-6)
    only_first = keypoint_loss(logits, keypoints, torch.tensor([[2, 0]]), kind="softmax_ce")
    moved = keypoint_loss(logits, torch.tensor([[[1.7, 0.2], [9.0, -3.0]]]), torch.tensor([[2, 0]]), kind="softmax_ce")
    assert float(only_first) == float(moved) == pytest.approx(float(first), abs=1e-6)  # invisible: no effect
    outside = keypoint_loss(logits, torch.tensor([[[1.7, 0.2], [0.4, 2.5]]]), torch.tensor([[2, 2]]), kind="softmax_ce")
    assert float(outside) == pytest.approx(float(first), abs=1e-6)  # outside the crop: dropped
    assert float(keypoint_loss(logits, keypoints, torch.tensor([[0, 0]]), kind="softmax_ce")) == 0.0
    with pytest.raises(ValueError, match="keypoint loss must be one of"):
        keypoint_loss(logits, keypoints, torch.tensor([[1, 1]]), kind="mse")


@pytest.mark.parametrize("style,raw_side,has_batchnorm", [("batchnorm", 12, True), ("skelevision", 16, False)])
def test_keypoint_head_styles(style, raw_side, has_batchnorm):
    head = KeypointHead.named("shallow", style=style).eval()
    z_f = torch.rand(2, 256, 6, 6)
    assert head.raw_logits(z_f).shape == (2, 17, raw_side, raw_side)
    assert head(z_f).shape == (2, 17, 127, 127)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in head.modules()) == has_batchnorm
    if style == "skelevision":
        assert all(float(m.bias.detach().abs().max()) == 0 for m in head.modules() if isinstance(m, torch.nn.Conv2d))


def test_a_reference_style_head_loads_as_saved(tmp_path):
    from armory_siammtl.models import load_model

    model = SiamRPN(NetworkConfig(head="shallow", head_style="skelevision"))
    save_weights(model, tmp_path / "ref.pth", ModelVariant(0.2, "shallow"))
    loaded = load_model(ModelVariant(0.2, "shallow", weights=tmp_path / "ref.pth"))
    assert loaded.config.head_style == "skelevision"
    with pytest.raises(WeightsError, match="head_style='skelevision' \\(asked for 'batchnorm'\\)"):
        load_model(ModelVariant(0.2, "shallow", weights=tmp_path / "ref.pth"), network=NetworkConfig(head="shallow"))


def test_recomputed_stem_gives_the_same_input_and_parameter_gradients():
    import torch

    from armory_siammtl.models.backbone import AlexNetLegacy

    torch.manual_seed(0)
    backbone = AlexNetLegacy(width_mult=0.5).eval()
    x = torch.rand(2, 3, 127, 127)
    grads = []
    for recompute in (False, True):
        pixels = x.clone().requires_grad_(True)
        backbone.zero_grad()
        backbone(pixels, recompute_stem=recompute).square().sum().backward()
        grads.append((pixels.grad, backbone.features[0].weight.grad.clone(), backbone.features[4].weight.grad.clone()))
    for plain, recomputed in zip(*grads):
        assert plain.abs().max() > 0
        torch.testing.assert_close(recomputed, plain, rtol=1e-5, atol=1e-6 * float(plain.abs().max()))


def test_a_reference_lightning_checkpoint_loads_with_pysot_names(tmp_path):
    """The reference code saves Lightning checkpoints: ``model.``-prefixed names, AlexNet layers as
    ``backbone.layerN.M`` and its keypoint head as ``keypoint_head.conv_blocks.J.0`` / ``deconv_blocks.0``."""
    from armory_siammtl.models import load_model
    from armory_siammtl.models.metadata import UnverifiedWeightsWarning

    model = SiamRPN(NetworkConfig(head="shallow", head_style="skelevision"))
    features = {
        0: "layer1.0",
        1: "layer1.1",
        4: "layer2.0",
        5: "layer2.1",
        8: "layer3.0",
        9: "layer3.1",
        11: "layer4.0",
        12: "layer4.1",
        14: "layer5.0",
        15: "layer5.1",
    }

    def reference_name(name):
        parts = name.split(".")
        if parts[0] == "backbone":
            return ".".join(["backbone", features[int(parts[2])], *parts[3:]])
        if parts[0] == "kpt_head" and parts[1] == "blocks":
            return f"keypoint_head.conv_blocks.{int(parts[2]) // 2}.0.{parts[3]}"
        if parts[0] == "kpt_head":
            return f"keypoint_head.deconv_blocks.0.{parts[2]}"
        return name

    state = {"model." + reference_name(k): v for k, v in model.state_dict().items()}
    assert not any(".features." in k or k.startswith("model.kpt_head") for k in state)
    torch.save({"epoch": 49, "global_step": 1000, "state_dict": state}, tmp_path / "epoch=49.ckpt")
    with pytest.warns(UnverifiedWeightsWarning, match="nothing was verified"):
        loaded = load_model(ModelVariant(0.2, "shallow", weights=tmp_path / "epoch=49.ckpt"))
    assert loaded.config.head_style == "skelevision"
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key

    state["model.keypoint_head.final_layer.weight"] = torch.zeros(1)
    torch.save({"state_dict": state}, tmp_path / "odd.ckpt")
    with pytest.raises(WeightsError, match="keypoint_head.final_layer.weight"):
        load_model(ModelVariant(0.2, "shallow", weights=tmp_path / "odd.ckpt"))
