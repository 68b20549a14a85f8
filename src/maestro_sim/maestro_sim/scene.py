"""Scene building blocks added to a ``mujoco.MjSpec``: world basics, table, free objects, bowls.

Every builder returns the created ``MjsBody`` and names its elements after ``name`` so that names stay unique.
Positions are in the world frame (metres); colours are RGBA in [0, 1].
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import mujoco
import numpy as np

GEOM = mujoco.mjtGeom
OBJECT_FRICTION = (1.0, 0.01, 0.001)   # sliding, torsional, rolling


def add_world_basics(spec: mujoco.MjSpec, width: int = 640, height: int = 480) -> None:
    """Physics options (500 Hz, implicitfast, elliptic cones), angles in radians, offscreen size, floor, lights."""
    spec.compiler.degree = False  # joint ranges etc. given to MjSpec are radians (MJCF's default is degrees)
    spec.option.timestep = 0.002
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    spec.visual.global_.offwidth = max(width, 640)
    spec.visual.global_.offheight = max(height, 480)
    spec.visual.map.znear = 0.02   # x extent (2 m) = 4 cm
    spec.visual.map.zfar = 5.0     # x extent = 10 m
    spec.visual.quality.shadowsize = 2048
    spec.visual.headlight.ambient = [0.3, 0.3, 0.3]
    spec.visual.headlight.diffuse = [0.4, 0.4, 0.4]
    spec.stat.extent = 2.0
    spec.stat.center = [0.5, 0.0, 0.4]
    spec.add_texture(name="grid", type=mujoco.mjtTexture.mjTEXTURE_2D, builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
                     rgb1=[0.42, 0.42, 0.45], rgb2=[0.36, 0.36, 0.39], width=256, height=256)
    spec.add_material(name="floor", textures=["", "grid"] + [""] * 8, texrepeat=[8, 8], reflectance=0.0)
    spec.worldbody.add_geom(name="floor", type=GEOM.mjGEOM_PLANE, size=[0, 0, 0.05], material="floor")
    spec.worldbody.add_light(name="key_light", pos=[0.6, -0.6, 2.5], dir=[-0.1, 0.3, -1.0],
                             diffuse=[0.75, 0.75, 0.75], castshadow=True)
    spec.worldbody.add_light(name="fill_light", pos=[-0.5, 0.8, 2.0], dir=[0.4, -0.3, -1.0],
                             diffuse=[0.3, 0.3, 0.3], castshadow=False)


def add_table(spec: mujoco.MjSpec, name: str = "table", top: float = 0.40,
              center: Sequence[float] = (0.45, 0.0), half: Sequence[float] = (0.65, 0.75),
              rgba: Sequence[float] = (0.62, 0.50, 0.38, 1.0)) -> mujoco.MjsBody:
    """A static table whose top surface is at height ``top``; material ``<name>`` (perturbations recolour it)."""
    spec.add_material(name=name, rgba=list(rgba))
    body = spec.worldbody.add_body(name=name, pos=[center[0], center[1], 0.0])
    thick = 0.03
    body.add_geom(name=f"{name}_top", type=GEOM.mjGEOM_BOX, size=[half[0], half[1], thick / 2],
                  pos=[0, 0, top - thick / 2], material=name, friction=list(OBJECT_FRICTION))
    for i, (sx, sy) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
        body.add_geom(name=f"{name}_leg{i}", type=GEOM.mjGEOM_BOX, size=[0.025, 0.025, (top - thick) / 2],
                      pos=[sx * (half[0] - 0.05), sy * (half[1] - 0.05), (top - thick) / 2], material=name)
    return body


def add_free_object(spec: mujoco.MjSpec, name: str, geom_type: mujoco.mjtGeom, size: Sequence[float],
                    pos: Sequence[float], rgba: Sequence[float], mass: float, yaw: float = 0.0,
                    friction: Sequence[float] = OBJECT_FRICTION) -> mujoco.MjsBody:
    """A free-floating rigid object made of one primitive geom (sphere, box, cylinder, capsule, ellipsoid)."""
    body = spec.worldbody.add_body(name=name, pos=list(pos), quat=yaw_quat(yaw))
    body.add_freejoint(name=f"{name}_free")
    body.add_geom(name=f"{name}_geom", type=geom_type, size=list(size), rgba=list(rgba), mass=mass,
                  friction=list(friction), condim=4, solref=[0.004, 1.0])
    return body


def add_bowl(spec: mujoco.MjSpec, name: str, pos: Sequence[float], radius: float = 0.09, height: float = 0.05,
             rgba: Sequence[float] = (0.25, 0.45, 0.85, 1.0), wall: float = 0.008, segments: int = 16,
             mass: float = 0.3, free: bool = True) -> mujoco.MjsBody:
    """An open bowl: a flat bottom disc and a ring of ``segments`` wall boxes. ``pos`` = centre of the bottom.

    Adds sites ``<name>/center`` (inside, on the bottom) and ``<name>/rim`` (centre of the rim circle).
    """
    body = spec.worldbody.add_body(name=name, pos=list(pos))
    if free:
        body.add_freejoint(name=f"{name}_free")
    seg_mass = mass / (segments + 2)
    body.add_geom(name=f"{name}_bottom", type=GEOM.mjGEOM_CYLINDER, size=[radius, 0.004], pos=[0, 0, 0.004],
                  rgba=list(rgba), mass=2 * seg_mass, friction=list(OBJECT_FRICTION))
    half_len = radius * math.tan(math.pi / segments) + wall / 2
    for i in range(segments):
        a = 2 * math.pi * i / segments
        body.add_geom(name=f"{name}_wall{i}", type=GEOM.mjGEOM_BOX, size=[wall / 2, half_len, height / 2],
                      pos=[radius * math.cos(a), radius * math.sin(a), height / 2], quat=yaw_quat(a),
                      rgba=list(rgba), mass=seg_mass, friction=list(OBJECT_FRICTION))
    body.add_site(name=f"{name}/center", pos=[0, 0, 0.008], size=[0.005, 0, 0])
    body.add_site(name=f"{name}/rim", pos=[0, 0, height], size=[0.005, 0, 0])
    return body


def yaw_quat(yaw: float) -> list[float]:
    """MuJoCo quaternion [w, x, y, z] of a rotation by ``yaw`` radians about +z."""
    return [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]


def horizontal_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two points projected on the xy plane."""
    return float(np.hypot(a[0] - b[0], a[1] - b[1]))
