"""Shared helpers for Maestro nodes: TF buffer, image conversion, parameters, error handling, ROS test fixtures."""
