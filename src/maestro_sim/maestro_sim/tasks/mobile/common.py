"""Scene pieces and measurements shared by the mobile (Go2-W + PiPER) tasks.

The robot starts at the world origin facing +x (odom = world). Objects lie on the floor (z = 0) around it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import mujoco
import numpy as np

from maestro_sim.perturb import PALETTE
from maestro_sim.scene import GEOM, yaw_quat

#: Soft contact of plush toys (a little compliance, high friction, light).
PLUSH_SOLREF = (0.01, 1.0)
PLUSH_FRICTION = (1.2, 0.02, 0.002)
#: Keep-out disc around the robot's start for sampled object positions (x, y, radius).
ROBOT_KEEP_OUT = (0.0, 0.0, 0.75)
#: Floor colours for the visual axis.
FLOOR_COLOURS = ((0.42, 0.42, 0.45), (0.55, 0.45, 0.35), (0.3, 0.35, 0.3), (0.6, 0.6, 0.62), (0.35, 0.3, 0.4))


def add_plush_ball(spec: mujoco.MjSpec, name: str, pos: Sequence[float], radius: float,
                   rgba: Sequence[float], mass: float = 0.04) -> mujoco.MjsBody:
    """A light, soft, high-friction ball resting on the floor at ``pos`` (x, y; z is set from the radius)."""
    body = spec.worldbody.add_body(name=name, pos=[pos[0], pos[1], radius])
    body.add_freejoint(name=f"{name}_free")
    body.add_geom(name=f"{name}_geom", type=GEOM.mjGEOM_SPHERE, size=[radius, 0, 0], rgba=list(rgba), mass=mass,
                  friction=list(PLUSH_FRICTION), condim=4, solref=list(PLUSH_SOLREF))
    return body


def add_plush_cube(spec: mujoco.MjSpec, name: str, pos: Sequence[float], half: float, rgba: Sequence[float],
                   yaw: float = 0.0, mass: float = 0.04) -> mujoco.MjsBody:
    """A soft plush cube (half edge ``half``) on the floor."""
    body = spec.worldbody.add_body(name=name, pos=[pos[0], pos[1], half], quat=yaw_quat(yaw))
    body.add_freejoint(name=f"{name}_free")
    body.add_geom(name=f"{name}_geom", type=GEOM.mjGEOM_BOX, size=[half, half, half], rgba=list(rgba), mass=mass,
                  friction=list(PLUSH_FRICTION), condim=4, solref=list(PLUSH_SOLREF))
    return body


def add_garbage_can(spec: mujoco.MjSpec, name: str, pos: Sequence[float], radius: float = 0.14,
                    height: float = 0.32, rgba: Sequence[float] = (0.25, 0.25, 0.28, 1.0), segments: int = 16,
                    wall: float = 0.01) -> mujoco.MjsBody:
    """An open cylindrical can standing on the floor (static: heavy enough not to tip).

    Sites ``<name>/center`` (inside, on the bottom) and ``<name>/rim`` (centre of the rim circle).
    """
    body = spec.worldbody.add_body(name=name, pos=[pos[0], pos[1], 0.0])
    body.add_geom(name=f"{name}_bottom", type=GEOM.mjGEOM_CYLINDER, size=[radius, 0.005], pos=[0, 0, 0.005],
                  rgba=list(rgba))
    half_len = radius * math.tan(math.pi / segments) + wall / 2
    for i in range(segments):
        a = 2 * math.pi * i / segments
        body.add_geom(name=f"{name}_wall{i}", type=GEOM.mjGEOM_BOX, size=[wall / 2, half_len, height / 2],
                      pos=[radius * math.cos(a), radius * math.sin(a), height / 2], quat=yaw_quat(a), rgba=list(rgba))
    body.add_site(name=f"{name}/center", pos=[0, 0, 0.01], size=[0.005, 0, 0])
    body.add_site(name=f"{name}/rim", pos=[0, 0, height], size=[0.005, 0, 0])
    return body


def polar_xy(distance: float, bearing: float) -> np.ndarray:
    """Point at ``distance`` m and ``bearing`` rad (0 = straight ahead, +x) from the robot's start."""
    return np.array([distance * math.cos(bearing), distance * math.sin(bearing)])


def restyle_floor(spec: mujoco.MjSpec, rng: np.random.Generator) -> tuple[float, float, float]:
    """Visual axis: recolour the floor material (the world restyles the lights)."""
    colour = FLOOR_COLOURS[int(rng.integers(len(FLOOR_COLOURS)))]
    material = spec.material("floor")
    if material is not None:
        material.rgba = [*colour, 1.0]
    return colour


def add_floor_distractors(spec: mujoco.MjSpec, rng: np.random.Generator, n: int, avoid_colours: Sequence[str],
                          keep_out: Sequence[tuple[float, float, float]], radius: float = 2.0) -> list[tuple[str,
                                                                                                       str, float]]:
    """``n`` plush balls/cubes of other colours on the floor; returns (body, label, full size)."""
    colours = [c for c in PALETTE if c not in avoid_colours]
    out = []
    placed: list[tuple[float, float, float]] = list(keep_out)
    for i in range(n):
        for _ in range(500):
            xy = polar_xy(rng.uniform(0.9, radius), rng.uniform(-math.pi, math.pi))
            if all(math.hypot(xy[0] - x, xy[1] - y) >= r for x, y, r in placed):
                break
        placed.append((float(xy[0]), float(xy[1]), 0.25))
        colour = colours[int(rng.integers(len(colours)))]
        name = f"distractor_{i}"
        if rng.random() < 0.5:
            add_plush_ball(spec, name, xy, 0.03, PALETTE[colour])
            out.append((name, f"{colour}_plush_ball", 0.06))
        else:
            add_plush_cube(spec, name, xy, 0.03, PALETTE[colour], yaw=float(rng.uniform(-math.pi, math.pi)))
            out.append((name, f"{colour}_plush_cube", 0.06))
    return out


def base_xy(model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
    """Robot base position on the floor (x, y) in the world frame."""
    return data.xpos[model.body("base_link").id][:2].copy()


def camera_sees(model: mujoco.MjModel, data: mujoco.MjData, camera: str, body: str, max_range: float = 4.0) -> bool:
    """True when the centre of ``body`` is inside ``camera``'s view cone, in range and not occluded.

    Geometric visibility (no rendering): the centre projects inside the image (aspect 4:3) and a ray from the camera
    to it hits a geom of that body first.
    """
    cam = model.camera(camera).id
    pos = data.cam_xpos[cam]
    rot = data.cam_xmat[cam].reshape(3, 3)
    target = data.xpos[model.body(body).id]
    local = rot.T @ (target - pos)
    depth = -local[2]
    if depth <= 0.02 or depth > max_range:
        return False
    half_v = math.radians(float(model.cam_fovy[cam])) / 2
    half_h = math.atan(math.tan(half_v) * 4.0 / 3.0)
    if abs(local[1]) / depth > math.tan(half_v) or abs(local[0]) / depth > math.tan(half_h):
        return False
    direction = target - pos
    dist = float(np.linalg.norm(direction))
    unit = direction / dist
    robot_root = model.body("base_link").id
    start = pos.copy()
    geomid = np.array([-1], dtype=np.int32)
    for _ in range(6):  # look through the robot's own geoms (the wrist camera sits among the fingers)
        hit = mujoco.mj_ray(model, data, start, unit, None, 1, -1, geomid)
        if hit < 0 or geomid[0] < 0:
            return False
        hit_body = int(model.geom_bodyid[geomid[0]])
        if not _in_subtree(model, hit_body, robot_root):
            return hit_body == model.body(body).id
        start = start + unit * (hit + 1e-3)
    return False


def _in_subtree(model: mujoco.MjModel, body: int, root: int) -> bool:
    while body > 0:
        if body == root:
            return True
        body = int(model.body_parentid[body])
    return False
