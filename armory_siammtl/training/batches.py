"""Training pairs as a ``torch.utils.data`` pipeline. Sample ``i`` of an epoch is drawn from its own seed
``(run seed, epoch, i)``, so a batch holds the same pairs whatever the number of data workers, processes
(DDP ranks) or accumulation steps it is split into: step ``s`` of an epoch is samples
``s*G .. s*G + G - 1`` of the global batch ``G``, and rank ``r`` of ``W`` takes its ``r``-th slice."""

from typing import Iterator, List, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from armory_siammtl.models.siamrpn import to_model_input
from armory_siammtl.training.losses import anchor_targets
from armory_siammtl.training.pairs import Augment, sample_pair

VALIDATION_STREAM = 999_999  # seeds the validation pairs apart from the training ones (epochs 0, 1, ...)
BATCH_NORM_STREAM = 999_998  # the training pairs that recompute an average's batch-norm statistics


SAMPLINGS = ("tracks", "items")


def items_of(tracks: Sequence) -> List[tuple]:
    """Every (track, frame) of ``tracks``: the reference's epoch holds each COCO person and each LaSOT frame once."""
    return [(k, j) for k, track in enumerate(tracks) for j in range(len(track))]


class PairDataset(Dataset):
    """Pair ``index`` of stream ``epoch``: template and search (model input), anchor labels and deltas,
    template keypoints and their visibility. Frames are read from the tracks only when cut.

    ``sampling="tracks"`` draws a track, then frames (the package's); ``"items"`` takes the ``index``-th
    item of a seeded shuffle of every (track, frame) (``shuffle=False``: in order), the search frame, with
    the template as ``template`` says (``sample_pair``): the reference's epochs. ``negatives``: exactly this
    many negative anchors per pair (pysot's 48; None: filled to 64)."""

    def __init__(
        self,
        tracks: Sequence,
        anchors: torch.Tensor,
        augment: Augment,
        instance_size: int,
        seed: int,
        epoch: int,
        length: int,
        sampling: str = "tracks",
        template: str = "random",
        shuffle: bool = True,
        negatives=None,
    ):
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}, not {sampling!r}")
        self.tracks, self.anchors, self.augment = list(tracks), anchors, augment
        self.instance_size, self.seed, self.epoch, self.length = instance_size, seed, epoch, length
        self.sampling, self.template, self.negatives = sampling, template, negatives
        self.items = items_of(self.tracks) if sampling == "items" else None
        if self.items is not None and shuffle:
            order = np.random.default_rng([seed, epoch, 2**31]).permutation(len(self.items))
            self.items = [self.items[i] for i in order]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        item = self.items[index % len(self.items)] if self.items is not None else None
        pair = sample_pair(self.tracks, rng, self.augment, search=self.instance_size, item=item, template=self.template)
        labels, deltas = anchor_targets(self.anchors, pair["box"], generator, self.negatives)
        return {
            "template": to_model_input(pair["template"][None])[0],
            "search": to_model_input(pair["search"][None])[0],
            "labels": labels,
            "deltas": deltas,
            "keypoints": torch.from_numpy(pair["keypoints"]),
            "visibility": torch.from_numpy(pair["visibility"]),
        }


class RankBatches(Sampler):
    """Index lists of this rank's per-process batches: ``steps`` steps of a global batch of
    ``batch_size * world_size`` samples, of which rank ``rank`` takes slice ``rank``; no index reaches
    ``total`` (when given: the last batch is then shorter)."""

    def __init__(self, steps: int, batch_size: int, rank: int = 0, world_size: int = 1, total=None):
        self.steps, self.batch_size, self.rank, self.world_size = steps, batch_size, rank, world_size
        self.total = total

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[List[int]]:
        width = self.batch_size * self.world_size
        for step in range(self.steps):
            first = step * width + self.rank * self.batch_size
            stop = first + self.batch_size if self.total is None else min(first + self.batch_size, self.total)
            yield list(range(first, stop))


def pair_loader(dataset: PairDataset, batches: RankBatches, workers: int = 0, pin_memory: bool = False) -> DataLoader:
    """The batches of one epoch, built by ``workers`` processes (0: in this process)."""
    return DataLoader(
        dataset, batch_sampler=batches, num_workers=workers, pin_memory=pin_memory, persistent_workers=False
    )


def split_batch(batch: dict, parts: int) -> List[dict]:
    """``batch`` cut into ``parts`` equal consecutive micro-batches (gradient accumulation)."""
    size = len(batch["labels"])
    if size % parts:
        raise ValueError(f"a batch of {size} does not split into {parts} equal accumulation steps")
    step = size // parts
    return [{k: v[i * step : (i + 1) * step] for k, v in batch.items()} for i in range(parts)]
