"""Datasets: the procedural person scene, video files and folders, and the real-format loaders."""
