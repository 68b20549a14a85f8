"""PointCloud2 conversion and depth back-projection for the grasp node (shared code in maestro_common.clouds)."""

from maestro_common.clouds import depth_to_points, pointcloud2_to_points, points_to_pointcloud2

__all__ = ["depth_to_points", "pointcloud2_to_points", "points_to_pointcloud2"]
