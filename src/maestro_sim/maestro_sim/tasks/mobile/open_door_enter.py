"""open_door_enter: "Open the door and enter the building." (Go2-W + PiPER)

A wall with a doorway stands in front of the robot; the door is a real hinged body (hinge joint on one side of the
doorway, opening away from the robot, damped, with friction) with a horizontal bar handle on the robot's side at
0.45 m. Rubric: handle grasped 25 · door opened 30 deg 50 · 60 deg 70 · robot base through the doorway 100
("through": the base centre at least 0.35 m past the wall plane, inside the doorway's width).
Verb "open wide": grasped 25 · 30 deg 50 · 60 deg 70 · door open 90 deg with the robot outside 100 (base centre
before the wall plane, and it never went through the doorway).
New object: a round knob instead of the bar. Pose: wall and door shifted and rotated (the door plane turns), and
the hinge side flips. Visual: door, wall and floor colours. Oracle: maestro_sim.oracles.open_door_enter.
The door has no latch: pushing the leaf with the body opens it too, but the rubric's chain needs the handle grasp
first, so that scores nothing.
"""
from __future__ import annotations

import math
from typing import Any

import mujoco
import numpy as np

from maestro_sim.perturb import PALETTE
from maestro_sim.scene import GEOM, yaw_quat
from maestro_sim.tasks.base import Evaluation, Stage, Task
from maestro_sim.tasks.mobile.common import base_xy, restyle_floor
from maestro_sim.tasks.registry import register_task

DOORWAY = "doorway"
DOOR = "door"
HINGE = "door_hinge"
DOOR_WIDTH = 0.80
DOOR_HEIGHT = 1.10
DOOR_THICK = 0.03
WALL_THICK = 0.10
WALL_HALF_LEN = 2.0
HANDLE_HEIGHT = 0.45
THROUGH = 0.35            # m past the wall plane


@register_task
class OpenDoorEnter(Task):
    """Open a hinged door by its handle and drive through the doorway."""

    id = "open_door_enter"
    embodiment = "go2w_piper"
    base_instruction = "Open the door and enter the building."
    stages = (Stage("handle grasped", 25), Stage("door opened 30 deg", 50), Stage("door opened 60 deg", 70),
              Stage("robot base through the doorway", 100))
    wide_stages = stages[:3] + (Stage("door open 90 deg, robot outside", 100, latched=False),)

    def __init__(self) -> None:
        super().__init__()
        self.hinge_side = 1.0     # +1: hinge at the doorway's +y edge (doorway frame)
        self.knob = False

    def build(self, spec: mujoco.MjSpec, rng: np.random.Generator, perturbation: str) -> None:
        """Wall with doorway and hinged door 1.6 m ahead of the robot."""
        xy, yaw = np.array([1.6, 0.0]), 0.0
        door_rgba, wall_rgba = PALETTE["brown"], (0.85, 0.82, 0.75, 1.0)
        if perturbation == "pose":
            xy = np.array([rng.uniform(1.4, 1.9), rng.uniform(-0.3, 0.3)])
            yaw = float(rng.uniform(-0.35, 0.35))
            self.hinge_side = float(rng.choice([-1.0, 1.0]))
        elif perturbation == "visual":
            door_rgba = PALETTE[("brown", "white", "blue", "green", "grey")[int(rng.integers(5))]]
            wall_rgba = (*(0.5 + 0.45 * rng.random(3)), 1.0)
            restyle_floor(spec, rng)
        elif perturbation == "new_object":
            self.knob = True
        elif perturbation == "verb":
            self.variant = "open_wide"
        self.xy, self.yaw = xy, yaw
        frame = spec.worldbody.add_body(name=DOORWAY, pos=[xy[0], xy[1], 0.0], quat=yaw_quat(yaw))
        side_len = (WALL_HALF_LEN - DOOR_WIDTH / 2) / 2
        for s in (-1, 1):
            frame.add_geom(name=f"{DOORWAY}_wall{'+' if s > 0 else '-'}", type=GEOM.mjGEOM_BOX,
                           size=[WALL_THICK / 2, side_len, 0.6], pos=[0, s * (DOOR_WIDTH / 2 + side_len), 0.6],
                           rgba=list(wall_rgba))
        frame.add_geom(name=f"{DOORWAY}_lintel", type=GEOM.mjGEOM_BOX, size=[WALL_THICK / 2, DOOR_WIDTH / 2, 0.05],
                       pos=[0, 0, DOOR_HEIGHT + 0.06], rgba=list(wall_rgba))
        frame.add_site(name=f"{DOORWAY}/center", pos=[0, 0, 0], size=[0.01, 0, 0])
        # door: hinge on the doorway edge at y = hinge_side * W/2, door leaf extends towards the other edge
        hs = self.hinge_side
        door = frame.add_body(name=DOOR, pos=[0, hs * (DOOR_WIDTH / 2 - 0.01), 0.0])
        # opening direction: the free edge swings to +x (away from the robot) for positive joint angles
        door.add_joint(name=HINGE, type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 0, hs], range=[0, math.radians(110)],
                       damping=2.0, frictionloss=0.5, armature=0.05)
        leaf = DOOR_WIDTH - 0.03
        door.add_geom(name=f"{DOOR}_leaf", type=GEOM.mjGEOM_BOX, size=[DOOR_THICK / 2, leaf / 2, DOOR_HEIGHT / 2 - 0.01],
                      pos=[0, -hs * leaf / 2, DOOR_HEIGHT / 2 + 0.01], rgba=list(door_rgba), mass=8.0)
        hy = -hs * (leaf - 0.1)
        hx = -(DOOR_THICK / 2 + 0.05)
        metal = [0.75, 0.75, 0.78, 1.0]
        if self.knob:
            door.add_geom(name=f"{DOOR}_knob_post", type=GEOM.mjGEOM_CYLINDER, size=[0.008, 0.025],
                          pos=[hx / 2 - 0.005, hy, HANDLE_HEIGHT], quat=[math.cos(math.pi / 4), 0, math.sin(math.pi / 4), 0],
                          rgba=metal, mass=0.05)
            door.add_geom(name=f"{DOOR}_knob", type=GEOM.mjGEOM_SPHERE, size=[0.025, 0, 0], pos=[hx, hy, HANDLE_HEIGHT],
                          rgba=metal, mass=0.1, friction=[1.5, 0.02, 0.002], condim=4)
        else:
            for dz in (-0.05, 0.05):
                door.add_geom(name=f"{DOOR}_handle_post{'+' if dz > 0 else '-'}", type=GEOM.mjGEOM_CAPSULE,
                              size=[0.008, 0, 0], fromto=[-DOOR_THICK / 2, hy, HANDLE_HEIGHT + dz, hx, hy,
                                                          HANDLE_HEIGHT + dz], rgba=metal, mass=0.05)
            door.add_geom(name=f"{DOOR}_handle", type=GEOM.mjGEOM_CAPSULE, size=[0.012, 0, 0],
                          fromto=[hx, hy, HANDLE_HEIGHT - 0.06, hx, hy, HANDLE_HEIGHT + 0.06], rgba=metal, mass=0.1,
                          friction=[1.5, 0.02, 0.002], condim=4)
        door.add_site(name=f"{DOOR}/handle", pos=[hx, hy, HANDLE_HEIGHT], size=[0.01, 0, 0])
        # the leaf hangs in its frame: its hinge-side edge sits on the hinge axis, 1 cm from the wall, and its back
        # corner would rub the wall's edge past ~40 deg and jam the door there (a real door has a hinge gap). The
        # hinge range keeps the leaf out of the wall, so the door does not collide with its own doorway.
        spec.add_exclude(bodyname1=DOOR, bodyname2=DOORWAY)
        self.add_object(DOOR, "door", (DOOR_THICK, leaf, DOOR_HEIGHT), {"handle": f"{DOOR}/handle"})
        self.add_object(DOORWAY, "doorway", (WALL_THICK, DOOR_WIDTH, DOOR_HEIGHT), {"center": f"{DOORWAY}/center"})

    def instruction(self, perturbation: str, rng: np.random.Generator) -> str:
        """Base, verb or knob instruction."""
        if self.variant == "open_wide":
            return "Open the door wide, to at least 90 degrees, but do not go through it."
        if self.knob:
            return "Open the door by its round knob and enter the building."
        return self.base_instruction

    def rubric(self) -> tuple[Stage, ...]:
        """The open-wide verb has its own last stage."""
        return self.wide_stages if self.variant == "open_wide" else self.stages

    def base_in_doorway_frame(self, world: Any) -> np.ndarray:
        """Robot base position (x past the wall plane, y along the wall) in the doorway frame."""
        centre = world.body_pos(DOORWAY)
        rot = world.body_rot(DOORWAY)
        p = np.array([*base_xy(world.model, world.data), 0.0])
        return rot.T @ (p - centre)

    def evaluate(self, world: Any, memory: dict[str, Any]) -> Evaluation:
        """Handle grasp, door angle (hinge joint), base position relative to the doorway."""
        angle = math.degrees(world.joint_qpos(HINGE))
        handle = world.site_pos(f"{DOOR}/handle")
        grasped = world.is_grasped(DOOR) and float(np.linalg.norm(world.tcp_pose()[0] - handle)) < 0.06
        local = self.base_in_doorway_frame(world)
        through = local[0] > THROUGH and abs(local[1]) < DOOR_WIDTH / 2 + 0.1
        measured = {"handle grasped": (grasped, float(grasped)), "door opened 30 deg": (angle >= 30.0, angle),
                    "door opened 60 deg": (angle >= 60.0, angle)}
        if self.variant == "open_wide":  # "do not go through it": once through, this stage is lost for good
            memory["went through"] = bool(memory.get("went through", False) or through)
            outside = local[0] < 0.0 and not memory["went through"]
            measured["door open 90 deg, robot outside"] = (angle >= 90.0 and outside, angle)
        else:
            measured["robot base through the doorway"] = (through, float(local[0]))
        return self.score(memory, measured)
