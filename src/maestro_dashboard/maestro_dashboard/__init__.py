"""Maestro trial recording (MCAP + MP4), live/replay web dashboard, tool-call analytics, RViz/Foxglove views."""
