"""Perception tool nodes (sim ground truth, YOLO, VLM pointing), 3D geometry, keypoint tracking, semantic map."""
