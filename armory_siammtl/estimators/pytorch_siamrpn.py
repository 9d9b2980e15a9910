"""``PyTorchSiamRPN``: an ART object-tracking estimator (the API of ART's ``PyTorchGoturn``)."""

import warnings
from typing import TYPE_CHECKING, List, Optional, Tuple, Union

import numpy as np
import torch
from art.estimators.object_tracking.object_tracker import ObjectTrackerMixin
from art.estimators.pytorch import PyTorchEstimator

from armory_siammtl.atomic import all_or_nothing
from armory_siammtl.input_checks import check_boxes, check_boxes_per_video, check_pixels
from armory_siammtl.models.siamrpn import SiamRPN
from armory_siammtl.tracking.config import TrackingConfig
from armory_siammtl.tracking.frames import WindowedFrames
from armory_siammtl.tracking.objective import box_l1
from armory_siammtl.tracking.tracker import SiamRPNTracker

if TYPE_CHECKING:
    from art.defences.postprocessor import Postprocessor
    from art.defences.preprocessor import Preprocessor
    from art.utils import PREPROCESSING_TYPE

LOSS_NAME = "torch.nn.L1Loss"


class PyTorchSiamRPN(ObjectTrackerMixin, PyTorchEstimator):
    """ART object-tracking estimator for SiamRPN: videos (N, T, H, W, 3) in [0, 1] -> per-video boxes
    (T, 4) [x1, y1, x2, y2] and scores (T,).

    ``predict`` on numpy input runs without gradients and returns numpy; on a torch tensor (as ART's
    ``AdversarialTexturePyTorch`` passes) it keeps the graph and returns tensors. ``loss_gradient`` is the
    gradient of the summed L1 distance between tracked and ground-truth boxes w.r.t. every pixel; without
    preprocessing it differentiates only the crop windows the tracker reads (``tracking.frames``), so its
    cost per frame does not grow with the video.
    """

    estimator_params = PyTorchEstimator.estimator_params + ["attack_losses", "gradient_mode", "batch_frames"]

    def __init__(
        self,
        model: SiamRPN,
        tracking: Optional[TrackingConfig] = None,
        input_shape: Tuple = (None, None, 3),
        clip_values: Optional[Tuple[float, float]] = (0.0, 1.0),
        channels_first: bool = False,
        preprocessing_defences: Union["Preprocessor", List["Preprocessor"], None] = None,
        postprocessing_defences: Union["Postprocessor", List["Postprocessor"], None] = None,
        preprocessing: "PREPROCESSING_TYPE" = None,
        device_type: str = "gpu",
        gradient_mode: str = "auto",
        batch_frames: int = 32,
    ):
        """
        :param model: the SiamRPN network (``models.load_model`` builds one from weights).
        :param tracking: the tracker's hyper-parameters; default pysot's with the paper's 255 search size.
        :param input_shape: shape of one frame, (H, W, 3); H and W may be None.
        :param clip_values: the pixel range; only (0, 1) is supported.
        :param channels_first: must be False (ARMORY's videos are channels-last).
        :param preprocessing_defences: ART preprocessing defences applied to each video.
        :param postprocessing_defences: not supported (must be None).
        :param preprocessing: ART preprocessing (subtrahend, divisor) applied before tracking.
        :param device_type: "gpu" (when CUDA is available) or "cpu".
        :param gradient_mode: how gradients through the tracker are computed: "sequential", "batched" or
            "auto" (batched for whole-pixel crops on a GPU; ``tracking.tracker.SiamRPNTracker``).
        :param batch_frames: search crops per network batch in the batched mode.
        """
        if device_type == "cpu" or not torch.cuda.is_available():
            self._device = torch.device("cpu")
        else:
            self._device = torch.device(f"cuda:{torch.cuda.current_device()}")
        self._check_own(channels_first, clip_values, postprocessing_defences)
        model.to(self._device).eval()
        for parameter in model.parameters():  # attacks need pixel gradients only; `fit` is not supported
            parameter.requires_grad_(False)
        super().__init__(
            model=model,
            clip_values=clip_values,
            channels_first=channels_first,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
            preprocessing=preprocessing,
            device_type=device_type,
        )
        self._input_shape = tuple(input_shape)
        self.tracker = SiamRPNTracker(model, tracking, gradient_mode=gradient_mode, batch_frames=batch_frames)
        self.attack_losses: Tuple[str, ...] = (LOSS_NAME,)

    @staticmethod
    def _check_own(channels_first, clip_values, postprocessing_defences) -> None:
        if channels_first:
            raise ValueError("PyTorchSiamRPN takes channels-last videos (N, T, H, W, 3); set channels_first=False")
        if clip_values is None or np.asarray(clip_values, dtype=np.float64).tolist() != [0.0, 1.0]:
            raise ValueError(f"PyTorchSiamRPN expects pixels in [0, 1]; got clip_values={clip_values}")
        if postprocessing_defences:
            raise ValueError("PyTorchSiamRPN does not support postprocessing_defences")

    def _check_params(self) -> None:
        """ART's checks and this estimator's (channels-last, pixels in [0, 1], no postprocessing), on every
        ``set_params`` as at construction; a refused change is undone."""
        super()._check_params()
        self._check_own(self.channels_first, self.clip_values, self.postprocessing_defences)

    def set_params(self, **kwargs) -> None:
        """Change estimator parameters (ART's API; attaching a defence afterwards is what ARMORY does); all are
        checked together, and a refused change leaves the estimator as it was."""
        if isinstance(kwargs.get("preprocessing"), tuple):  # as the constructor does: ART's set_params would
            from art.preprocessing.standardisation_mean_std.pytorch import StandardisationMeanStdPyTorch

            mean, std = kwargs["preprocessing"]  # make a numpy standardiser, which cannot take the tracker's tensors
            kwargs["preprocessing"] = StandardisationMeanStdPyTorch(mean=mean, std=std, device_type=self._device_type)
        with all_or_nothing(self):
            super().set_params(**kwargs)

    @property
    def values_checked(self) -> bool:
        """True when nothing changes the pixels between ``predict``'s input check and the tracker (no ART
        preprocessing or defence, or only an identity standardisation): the tracker need not pass over every
        pixel again, and the attack may read crop windows. Derived from the current preprocessing each time,
        so a defence attached after construction is seen."""
        for operation in self.preprocessing_operations:
            mean, std = getattr(operation, "mean", None), getattr(operation, "std", None)
            identity = (
                type(operation).__name__.startswith("StandardisationMeanStd")
                and mean is not None
                and std is not None
                and np.all(np.asarray(mean) == 0)
                and np.all(np.asarray(std) == 1)
            )
            if not identity:
                return False
        return True

    @property
    def gradient_mode(self) -> str:
        return self.tracker.gradient_mode

    @gradient_mode.setter
    def gradient_mode(self, mode: str) -> None:  # ART's set_params; the tracker checks the value
        self._retrack(gradient_mode=mode)

    @property
    def batch_frames(self) -> int:
        return self.tracker.batch_frames

    @batch_frames.setter
    def batch_frames(self, count: int) -> None:
        self._retrack(batch_frames=count)

    def _retrack(self, **changes) -> None:
        settings = {"gradient_mode": self.tracker.gradient_mode, "batch_frames": self.tracker.batch_frames, **changes}
        self.tracker = SiamRPNTracker(self.model, self.tracker.tracking, **settings)

    @property
    def native_label_is_pytorch_format(self) -> bool:
        return True

    @property
    def input_shape(self) -> Tuple:
        return self._input_shape

    @property
    def device(self) -> torch.device:
        return self._device

    @staticmethod
    def _check_batch(x):
        if not isinstance(x, (np.ndarray, torch.Tensor)):
            raise ValueError(f"videos must be a numpy array or torch tensor (N, T, H, W, 3), got {type(x).__name__}")
        if x.ndim != 5 or x.shape[-1] != 3:
            raise ValueError(f"expected videos of shape (N, T, H, W, 3), got {tuple(x.shape)}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"empty batch of videos: shape {tuple(x.shape)}")
        check_pixels(x, "videos")

    def _init_boxes(self, y_init, num_videos: int) -> torch.Tensor:
        if y_init is None:
            raise ValueError("y_init (N, 4) is a required argument of predict")
        return torch.as_tensor(check_boxes_per_video(y_init, num_videos), dtype=torch.float64)

    def _track_one(self, video: torch.Tensor, box, progress: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """Preprocess one video (T, H, W, 3) and track it; keeps the graph when grad is enabled."""
        video = video.to(self._device).float()
        video, _ = self._apply_preprocessing(video[None], y=None, fit=False, no_grad=False)
        result = self.tracker.track(
            video[0], box, channels_first=False, progress=progress, values_checked=self.values_checked
        )
        return result.boxes, result.scores

    def track_frames(self, frames, box) -> torch.Tensor:
        """Boxes (T, 4) of a video source read a crop window at a time (the attack's ``PatchedVideo``),
        keeping the graph when gradients are enabled; only without ART preprocessing, which needs whole
        frames (``values_checked`` is then True).

        :param frames: the source (``tracking.tracker.TensorFrames``' calls), its pixels checked by its maker.
        :param box: the first frame's box [x1, y1, x2, y2].
        """
        if not self.values_checked:
            raise ValueError("track_frames reads crop windows; ART preprocessing needs whole frames: use predict")
        return self.tracker.track(
            frames, check_boxes_per_video(np.asarray(box, np.float64)[None], 1)[0], values_checked=True
        ).boxes

    def predict(
        self,
        x: Union[np.ndarray, torch.Tensor],
        batch_size: int = 1,
        y_init: Union[np.ndarray, torch.Tensor, None] = None,
        verbose: bool = False,
        **kwargs,
    ) -> List[dict]:
        """Track each video from its first box.

        :param x: videos (N, T, H, W, 3), float in [0, 1]; numpy (no gradient) or a torch tensor (keeps the
            graph when gradients are enabled).
        :param batch_size: unused; videos are tracked one at a time.
        :param y_init: (N, 4) first-frame boxes [x1, y1, x2, y2] (required).
        :param verbose: show a progress bar over the frames.
        :return: one dict per video with ``boxes`` (T, 4), ``scores`` (T,) and ``labels`` (T,).
        """
        self._check_batch(x)
        boxes0 = self._init_boxes(y_init, x.shape[0])
        self._model.eval()
        as_numpy = isinstance(x, np.ndarray)
        predictions = []
        for i in range(x.shape[0]):
            with torch.set_grad_enabled(not as_numpy and torch.is_grad_enabled()):
                video = frames_view(x[i]) if as_numpy else x[i]
                boxes, scores = self._track_one(video, boxes0[i], progress=bool(verbose))
            labels = torch.zeros(boxes.shape[0], dtype=torch.long)
            if as_numpy:
                predictions.append(
                    {
                        "boxes": boxes.detach().cpu().numpy().astype(np.float32),
                        "scores": scores.detach().cpu().numpy().astype(np.float32),
                        "labels": labels.numpy(),
                    }
                )
            else:
                predictions.append({"boxes": boxes.float(), "scores": scores.float(), "labels": labels})
        return predictions

    def _losses(self, x: np.ndarray, y: List[dict], y_init=None, with_grad: bool = False):
        """Per-video L1 losses over the frames whose ground truth is present (``input_checks.check_boxes``),
        and the per-video input tensors that hold their gradients."""
        self._check_batch(x)
        if x.shape[1] < 2:
            raise ValueError(f"a loss needs at least 2 frames (frame 0 gives the first box), got {x.shape[1]}")
        if (
            not isinstance(y, (list, tuple))
            or len(y) != x.shape[0]
            or not all(isinstance(y_i, dict) and "boxes" in y_i for y_i in y)
        ):
            raise ValueError(f"y must be one {{'boxes': (T, 4)}} dict per video ({x.shape[0]} videos)")
        y = [
            {"boxes": check_boxes(y_i["boxes"], x.shape[1], x.shape[2], x.shape[3], f"ground-truth boxes of video {i}")}
            for i, y_i in enumerate(y)
        ]
        boxes0 = (
            self._init_boxes(y_init, x.shape[0])
            if y_init is not None
            else torch.stack([torch.as_tensor(np.asarray(y_i["boxes"])[0], dtype=torch.float64) for y_i in y])
        )
        losses, inputs = [], []
        windowed = with_grad and self.values_checked  # nothing between the pixels and the tracker
        for i in range(x.shape[0]):
            video = frames_view(x[i], np.float32).to(self._device)
            if with_grad and not windowed:  # a leaf of its own: its gradient is the whole frames'
                video = video.detach().requires_grad_(True)
            target = torch.as_tensor(y[i]["boxes"], dtype=torch.float32, device=self._device)
            with torch.set_grad_enabled(with_grad):
                if windowed:  # gradients of the crop windows read, not of whole frames: linear in the video
                    video = WindowedFrames(video.permute(0, 3, 1, 2))
                    boxes = self.tracker.track(video, boxes0[i], values_checked=True).boxes
                else:
                    boxes, _ = self._track_one(video, boxes0[i])
                losses.append(box_l1(boxes, target))
            inputs.append(video)
        return losses, inputs

    def loss_gradient(self, x: np.ndarray, y: List[dict], y_init: Optional[np.ndarray] = None, **kwargs) -> np.ndarray:
        """Gradient of sum_t |box_t - gt_t|_1 w.r.t. ``x``.

        :param x: videos (N, T, H, W, 3), float in [0, 1].
        :param y: one dict per video with ``boxes`` (T, 4), the ground truth.
        :param y_init: (N, 4) first boxes; default each video's first ground-truth box.
        :return: gradients of the same shape and dtype as ``x``.
        """
        losses, inputs = self._losses(x, y, y_init, with_grad=True)
        self._model.zero_grad()
        torch.stack(losses).sum().backward()
        # np.zeros maps zero pages lazily: the windowed path touches only the windows the tracker read
        grads = np.zeros(np.shape(x), dtype=x.dtype)
        for out, v in zip(grads, inputs):
            if isinstance(v, WindowedFrames):
                v.add_gradient_to(out)
            else:
                out[...] = v.grad.detach().cpu().numpy()
        if not self.all_framework_preprocessing:
            grads = self._apply_preprocessing_gradient(x, grads)
        return grads

    def compute_losses(self, x: np.ndarray, y: List[dict], **kwargs) -> dict:
        """``{"torch.nn.L1Loss": compute_loss(x, y)}``, ART's dict of named losses."""
        return {LOSS_NAME: self.compute_loss(x, y, **kwargs)}

    def compute_loss(
        self, x: np.ndarray, y: List[dict], reduction: str = "sum", y_init: Optional[np.ndarray] = None, **kwargs
    ) -> np.ndarray:
        """The L1 box loss of each video.

        :param x: videos (N, T, H, W, 3), float in [0, 1].
        :param y: one dict per video with ``boxes`` (T, 4).
        :param reduction: "sum" (a float32 scalar) or "none" (one value per video).
        :param y_init: (N, 4) first boxes; default each video's first ground-truth box.
        """
        losses, _ = self._losses(x, y, y_init)
        values = np.array([float(v) for v in losses], dtype=np.float32)
        if reduction == "sum":
            return np.float32(values.sum())
        if reduction == "none":
            return values
        raise ValueError(f"reduction must be 'sum' or 'none', not {reduction!r}")

    def fit(self, x, y, batch_size: int = 1, nb_epochs: int = 1, **kwargs) -> None:
        raise NotImplementedError("train SiamRPN with `armory-siammtl train` (armory_siammtl.training)")

    def get_activations(self, x, layer, batch_size: int = 1, framework: bool = False):
        raise NotImplementedError("PyTorchSiamRPN does not expose layer activations")


def frames_view(frames: np.ndarray, dtype=None) -> torch.Tensor:
    """A CPU tensor over the caller's frames, converted to ``dtype`` only when they are another: no copy of a
    whole video (hundreds of MB at 960x1280) where none is needed. The tracker only reads its input, so
    ARMORY's read-only arrays are viewed as they are."""
    array = np.asarray(frames)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if not array.flags.c_contiguous or not array.dtype.isnative:
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)
