"""Frame-exact video exports for ARMORY's CARLA video-tracking scenario.

ARMORY 0.19.2's video exporters pipe raw frames to ffmpeg without telling it their rate (ffmpeg then
assumes 25 frames/s) and ask for the dataset's rate at the output, so at CARLA's 10 frames/s ffmpeg drops
about 3 frames in 5 (an 8-frame video comes out with 5). ``CarlaVideoTracking`` here is ARMORY's scenario
with its exporters writing every frame at the dataset's rate. It writes the mp4s only: ARMORY also saves
each frame as a PNG, about 40 MB per 30-frame 960x1280 video and kind.
"""

import os

import ffmpeg
import numpy as np
from armory.instrument.export import VideoTrackingExporter
from armory.scenarios.carla_video_tracking import CarlaVideoTracking as ArmoryCarlaVideoTracking


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
        process = (ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}",
                                framerate=self.frame_rate)
                   .output(os.path.join(folder, name), pix_fmt="yuv420p", vcodec="libx264", r=self.frame_rate)
                   .overwrite_output()
                   .run_async(pipe_stdin=True, quiet=True))
        for frame in frames:
            process.stdin.write(np.asarray(frame, dtype=np.uint8).tobytes())
        process.stdin.close()
        if process.wait() != 0:
            raise RuntimeError(f"ffmpeg could not write {os.path.join(folder, name)} (exit {process.returncode})")


class CarlaVideoTracking(ArmoryCarlaVideoTracking):
    """ARMORY's ``CarlaVideoTracking``, unchanged but for frame-exact video exports."""

    def load_export_meters(self):
        super().load_export_meters()
        for exporter in (self.sample_exporter, self.sample_exporter_with_boxes):
            exporter.__class__ = FrameExactVideoExporter  # the meters already hold these objects
