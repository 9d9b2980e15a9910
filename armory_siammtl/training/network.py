"""The network a run trains: built and seeded, started from its initial weights, frozen as the run says, its
optimizer and learning-rate schedule, and its DDP wrapper under ``torchrun``."""

import torch

from armory_siammtl.models.anchors import anchor_grid, score_size
from armory_siammtl.models.loading import load_model
from armory_siammtl.models.siamrpn import NetworkConfig, SiamRPN
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.training.config import TrainConfig
from armory_siammtl.training.distributed import Worker


def build_model(cfg: TrainConfig, device: torch.device) -> SiamRPN:
    """The run's SiamRPN: seeded initial weights (a run is reproducible), then ``cfg.init_weights`` when
    given (a file without keypoint head may start an MTL model), on ``device``; with ``cfg.head_only`` only the
    keypoint head keeps gradients."""
    torch.manual_seed(cfg.seed)
    model = SiamRPN(NetworkConfig(head=cfg.variant.head, head_style=cfg.head_style))
    if cfg.init_weights:
        load_model(ModelVariant(None, cfg.variant.head, weights=cfg.init_weights), allow_missing_head=True, into=model)
    if cfg.head_only:
        for name, parameter in model.named_parameters():
            parameter.requires_grad_(name.startswith("kpt_head."))
    return model.to(device)


def set_mode(cfg: TrainConfig, model: SiamRPN, training: bool) -> None:
    """Train or eval mode; head-only training keeps the frozen RPN in eval mode, and the frozen backbone
    too unless ``cfg.head_only_batch_norm`` is "updating" (the reference: its parameters frozen by
    ``requires_grad`` alone, so its batch-norm statistics keep updating, and are kept)."""
    model.train(training)
    if cfg.head_only:
        model.rpn_head.eval()
        if cfg.head_only_batch_norm == "frozen":
            model.backbone.eval()


def optimizer_and_schedule(cfg: TrainConfig, model: SiamRPN):
    """Adam, or pysot's SGD (momentum 0.9, weight decay 1e-4), over the trainable parameters, and the
    learning rate multiplied by ``cfg.lr_decay`` after every epoch."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = (
        torch.optim.Adam(params, lr=cfg.lr)
        if cfg.optimizer == "adam"
        else torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=1e-4)
    )
    return optimizer, torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.lr_decay)


def distributed(model: SiamRPN, worker: Worker):
    """``model`` wrapped in DDP when the run has several processes; the model itself otherwise."""
    if not worker.distributed:
        return model
    cuda = worker.device.type == "cuda"
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=[worker.device.index] if cuda else None)


def training_anchors(cfg: TrainConfig, model: SiamRPN) -> torch.Tensor:
    """The anchors of the training search crop (``cfg.instance_size``)."""
    net = model.config
    return anchor_grid(
        score_size(cfg.instance_size, net.exemplar_size, net.stride),
        net.stride,
        net.ratios,
        net.scales,
        center=cfg.instance_size // 2,
    )
