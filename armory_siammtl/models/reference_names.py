"""The SkeleVision reference code's checkpoint layout, renamed into pysot's (and this package's): its Lightning
checkpoints prefix every name with ``model.``, name the AlexNet backbone ``backbone.layerN.M`` instead of
pysot's ``backbone.features.K``, and the keypoint head ``keypoint_head.conv_blocks.J.0`` /
``keypoint_head.deconv_blocks.0`` (its conv-ReLU blocks; this package's reference-style head is
``kpt_head.blocks.2J`` / ``kpt_head.deconv``)."""

import re

LAYER_TO_FEATURES = {
    "layer1.0": "features.0",
    "layer1.1": "features.1",
    "layer2.0": "features.4",
    "layer2.1": "features.5",
    "layer3.0": "features.8",
    "layer3.1": "features.9",
    "layer4.0": "features.11",
    "layer4.1": "features.12",
    "layer5.0": "features.14",
    "layer5.1": "features.15",
}
LIGHTNING_PREFIX = "model."


def is_reference_layout(state: dict) -> bool:
    """Whether ``state`` uses the reference code's names (a Lightning ``model.`` prefix, ``layerN.M``
    backbone or ``keypoint_head`` names)."""
    return any(
        k.startswith(LIGHTNING_PREFIX) or k.startswith("keypoint_head.") or re.match(r"backbone\.layer\d\.\d\.", k)
        for k in state
    )


def rename_reference(state: dict) -> dict:
    """``state`` with the reference code's names turned into this package's; ValueError naming a name that
    has no counterpart."""
    renamed = {}
    for key, value in state.items():
        name = key[len(LIGHTNING_PREFIX) :] if key.startswith(LIGHTNING_PREFIX) else key
        layer = re.match(r"backbone\.(layer\d\.\d)\.(.+)", name)
        conv = re.match(r"keypoint_head\.conv_blocks\.(\d+)\.0\.(weight|bias)$", name)
        deconv = re.match(r"keypoint_head\.deconv_blocks\.0\.(weight|bias)$", name)
        if layer:
            if layer.group(1) not in LAYER_TO_FEATURES:
                raise ValueError(f"reference checkpoint name {key!r}: no AlexNet layer {layer.group(1)}")
            name = f"backbone.{LAYER_TO_FEATURES[layer.group(1)]}.{layer.group(2)}"
        elif conv:
            name = f"kpt_head.blocks.{2 * int(conv.group(1))}.{conv.group(2)}"
        elif deconv:
            name = f"kpt_head.deconv.{deconv.group(1)}"
        elif name.startswith("keypoint_head."):
            raise ValueError(f"reference checkpoint name {key!r} has no counterpart in this package's keypoint head")
        renamed[name] = value
    return renamed
