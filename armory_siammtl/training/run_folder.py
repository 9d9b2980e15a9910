"""A training run's folder: its lock, its checkpoints (each with its ``.sha256``), ``last.pth`` (the one
atomic record of the finished epochs, from which a run resumes) and the metrics log written from it."""

import contextlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

from armory_siammtl.atomic import exclusive, write_csv, write_text
from armory_siammtl.models.weights_file import read_weights, save_weights
from armory_siammtl.training.config import TrainConfig


class RunFolder:
    """``cfg.out_dir`` of a run; only the main process writes (``writes``)."""

    def __init__(self, cfg: TrainConfig, writes: bool = True):
        self.cfg, self.writes = cfg, writes
        self.path = Path(cfg.out_dir)
        self.path.mkdir(parents=True, exist_ok=True)

    def lock(self):
        """Hold ``.train.lock`` for a block that resumes and fits: a second run on the same folder is refused
        instead of interleaving its epochs with ours."""
        refusal = f"another training run is writing {self.path}; wait for it or choose another --out"
        return exclusive(self.path / ".train.lock", refusal) if self.writes else contextlib.nullcontext()

    def save(self, name: str, model, extra: dict, with_digest: bool = False) -> str:
        """``name`` with the model's weights, the run's record and ``extra``; with ``with_digest`` also
        ``name.sha256`` (what a scenario pins). Returns the file's sha256."""
        cfg = self.cfg
        digest = save_weights(
            model,
            self.path / name,
            cfg.variant,
            cfg.tracking.as_dict(),
            cfg.command,
            extra={"training": cfg.record(), **extra},
        )
        if with_digest:
            write_text(self.path / f"{name}.sha256", f"{digest}  {name}\n")
        return digest

    def last(self) -> Optional[dict]:
        """``last.pth``'s payload when there is one; a run recorded with other settings than this one's (any
        that changes what the run computes: ``TrainConfig.record``) is refused, naming them."""
        last = self.path / "last.pth"
        if not last.is_file():
            return None
        payload = read_weights(last)
        recorded, wanted = payload.get("training", {}), self.cfg.record()
        differing = sorted(k for k in wanted if recorded.get(k) != wanted[k])
        if differing:
            raise ValueError(
                f"{last} was trained with "
                + ", ".join(f"{k}={recorded.get(k)!r}" for k in differing)
                + "; this run asks for "
                + ", ".join(f"{k}={wanted[k]!r}" for k in differing)
                + f": choose another --out than {self.path}"
            )
        if not isinstance(payload.get("history"), list) or "scheduler" not in payload:
            raise ValueError(
                f"{last} holds no epoch history or scheduler (written by an older version); choose another --out"
            )
        return payload

    def write_log(self, history: List[dict]) -> None:
        """``metrics.json`` (the config and every row) and ``metrics.csv`` (every row's columns)."""
        if not self.writes:
            return
        write_text(
            self.path / "metrics.json",
            json.dumps({"config": asdict(self.cfg), "epochs": history}, indent=1, default=str),
        )
        write_csv(self.path / "metrics.csv", history, list(dict.fromkeys(k for r in history for k in r)))
