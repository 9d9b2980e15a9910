"""The package's ARMORY scenario: ARMORY's ``CarlaVideoTracking``, measuring what it measures, plus

- every checkpoint of the package's attack in the results JSON (``results["checkpoints"]``: per step count
  the adversarial mIoU and success rate of each video and their means, by ARMORY's own metric functions),
  and each checkpoint's texture as a PNG (and all of them in one ``.npz``) under ``<output>/textures/``, so
  one ``armory run`` gives one column of the paper's table (``python -m armory_siammtl.armory.results``);
- frame-exact video exports. ARMORY 0.19.2's video exporters pipe raw frames to ffmpeg without telling it
  their rate (ffmpeg then assumes 25 frames/s) and ask for the dataset's rate at the output, so at CARLA's
  10 frames/s ffmpeg drops about 3 frames in 5 (an 8-frame video comes out with 5). ``CarlaVideoTracking``
  here is ARMORY's scenario with its exporters writing every frame at the dataset's rate. It writes the mp4s
  only: ARMORY also saves each frame as a PNG, about 40 MB per 30-frame 960x1280 video and kind.
"""

import os
from pathlib import Path

import ffmpeg
import numpy as np
from armory.instrument.export import VideoTrackingExporter
from armory.metrics.task import video_tracking_mean_iou, video_tracking_mean_success_rate
from armory.scenarios.carla_video_tracking import CarlaVideoTracking as ArmoryCarlaVideoTracking

from armory_siammtl.runtime import guard_triton

guard_triton()  # ARMORY imported TensorFlow before this module; see runtime.guard_triton

CHECKPOINT_METRICS = {
    "video_tracking_mean_iou": video_tracking_mean_iou,
    "video_tracking_mean_success_rate": video_tracking_mean_success_rate,
}


class FrameExactVideoExporter(VideoTrackingExporter):
    """ARMORY's video-tracking exporter (same folders and file names; ground truth red, prediction white
    when ``with_boxes``) whose mp4s hold every frame."""

    def _export(self, x, basename, with_boxes=False, y=None, y_pred=None):
        if isinstance(y, np.ndarray):  # ARMORY's MOT-format labels
            y = self.convert_y_from_mot_format(y)
        if isinstance(y_pred, np.ndarray):
            y_pred = self.convert_y_from_mot_format(y_pred)
        frames = self.get_sample(x, with_boxes=with_boxes, y=y, y_pred=y_pred)
        folder = os.path.join(self.output_dir, str(basename))
        os.makedirs(folder, exist_ok=True)
        name = f"video_{basename}{'_with_boxes' if with_boxes else ''}{self.video_file_extension}"
        height, width = x.shape[1:3]
        process = (
            ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", framerate=self.frame_rate)
            .output(os.path.join(folder, name), pix_fmt="yuv420p", vcodec="libx264", r=self.frame_rate)
            .overwrite_output()
            .run_async(pipe_stdin=True, quiet=True)
        )
        for frame in frames:
            process.stdin.write(np.asarray(frame, dtype=np.uint8).tobytes())
        process.stdin.close()
        if process.wait() != 0:
            raise RuntimeError(f"ffmpeg could not write {os.path.join(folder, name)} (exit {process.returncode})")


class CarlaVideoTracking(ArmoryCarlaVideoTracking):
    """ARMORY's ``CarlaVideoTracking`` with per-checkpoint results, saved textures and frame-exact exports."""

    def load_export_meters(self):
        super().load_export_meters()
        for exporter in (self.sample_exporter, self.sample_exporter_with_boxes):
            exporter.__class__ = FrameExactVideoExporter  # the meters already hold these objects

    def run_attack(self):
        super().run_attack()
        checkpoints = getattr(self.attack, "checkpoint_results", None)
        if not checkpoints:  # another attack (ARMORY's own): its final step is ARMORY's adversarial result
            return
        scores = self.__dict__.setdefault("_checkpoint_scores", {})
        for result in checkpoints:
            per_step = scores.setdefault(result.steps, {name: [] for name in CHECKPOINT_METRICS})
            for name, metric in CHECKPOINT_METRICS.items():
                per_step[name].append(float(metric(self.y, [{"boxes": result.boxes}])[0]))
        self._save_textures(checkpoints)

    def _save_textures(self, checkpoints) -> None:
        """``textures/batch_<i>_steps_<n>.png`` for each checkpoint and ``textures/batch_<i>.npz`` with all."""
        import cv2

        folder = Path(self.scenario_output_dir) / "textures"
        folder.mkdir(parents=True, exist_ok=True)
        for result in checkpoints:
            image = np.round(np.clip(result.texture, 0, 1) * 255).astype(np.uint8)
            cv2.imwrite(
                str(folder / f"batch_{self.i:03d}_steps_{result.steps}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
            )
        np.savez_compressed(
            folder / f"batch_{self.i:03d}.npz",
            steps=np.array([r.steps for r in checkpoints]),
            textures=np.stack([r.texture for r in checkpoints]).astype(np.float32),
        )

    def finalize_results(self):
        super().finalize_results()
        scores = getattr(self, "_checkpoint_scores", {})
        if scores:
            self.results["checkpoints"] = {
                str(steps): {
                    **{f"adversarial_{name}": values for name, values in per_step.items()},
                    **{f"adversarial_mean_{name}": float(np.mean(values)) for name, values in per_step.items()},
                }
                for steps, per_step in sorted(scores.items())
            }
