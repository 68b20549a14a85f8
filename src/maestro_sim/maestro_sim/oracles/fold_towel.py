"""Oracle for fold_towel (test-only): pinch each corner from above (fingers closing along the diagonal, the inner
pad 1 cm inside the corner, pressing lightly: the cloth bunches up between the pads), lift it, carry it over its
target (the centre vertex, or the far corner for the fold-in-half verb), lower, release (opening a little); corners
that ended too far (or were dragged off by a later fold) are folded again."""
from __future__ import annotations

import math

import numpy as np

from maestro_sim.oracles.common import TOP_DOWN, Oracle, rot_z
from maestro_sim.tasks.tabletop.fold_towel import VERTEX_RADIUS, vertex_body
from maestro_sim.world import World

PINCH_GAP = 0.04
INWARD = 0.01       # m from the corner towards the target
PRESS = 0.006       # m above the corner vertex centre
RELEASE_GAP = 0.025  # m finger gap to let go of a corner
REFOLD_TOL = 0.035   # m: a corner further than this from its target is folded again
NAPKIN_SHORT = 0.02  # m before the centre where a napkin corner is put down


def pinch_corner(o: Oracle, world: World, corner: int, target: int, tries: int = 3, lift: float = 0.1) -> bool:
    """Pinch vertex ``corner`` and lift it by ``lift``; retries with another inward offset when it slipped."""
    for attempt in range(tries):
        c = world.body_pos(vertex_body(corner))
        d = world.body_pos(vertex_body(target)) - c
        d[2] = 0.0
        u = d / np.linalg.norm(d)
        psi = (math.atan2(u[1], u[0]) % math.pi) - math.pi / 2  # closing axis (tcp +y) along u, wrist mid-range
        rot = rot_z(psi) @ TOP_DOWN
        p = c + (INWARD + 0.003 * attempt) * u
        world.set_gripper(PINCH_GAP)
        o.move_tcp(p + [0, 0, 0.08], rot, duration=1.0)
        o.move_tcp(p + [0, 0, PRESS], rot, steps=3, duration=1.0)
        o.gripper(0.0, wait=0.6)
        o.move_tcp(p + [0, 0, lift], rot, steps=3, duration=1.0)
        if world.body_pos(vertex_body(corner))[2] > c[2] + 0.04:  # the corner hangs a few cm under the pads
            return True
        o.gripper(PINCH_GAP, wait=0.3)
    return False


def fold_corner(o: Oracle, world: World, corner: int, target: int, waypoints: int = 7, short: float = 0.0) -> bool:
    """Move towel vertex ``corner`` onto vertex ``target`` (``short`` m before it) along a half circle about the fold
    line (so the rest of the cloth is not dragged); False when the corner could not be picked up."""
    c0 = world.body_pos(vertex_body(corner))
    if not pinch_corner(o, world, corner, target, lift=0.1):
        return False
    _, rot = world.tcp_pose()
    t = world.body_pos(vertex_body(target))
    hinge = (c0 + t) / 2
    r = float(np.linalg.norm((t - c0)[:2])) / 2
    u = (t - c0) / max(1e-6, float(np.linalg.norm(t - c0)))
    u[2] = 0.0
    start = world.tcp_pose()[0]
    for k in range(1, waypoints + 1):  # second half of the fold circle, from the lifted corner to over the target
        phi = math.pi / 2 + math.pi / 2 * k / waypoints
        p = hinge - r * math.cos(phi) * u + np.array([0.0, 0.0, max(r * math.sin(phi), 0.04)])
        if k == 1:
            p[2] = max(p[2], start[2])
        o.move_tcp(p, rot, duration=0.4, settle=0.0)
    t = world.body_pos(vertex_body(target)) - short * u
    o.move_tcp(np.array([t[0], t[1], t[2] + 2 * VERTEX_RADIUS + 0.006]), rot, steps=2, duration=0.6)
    # release by opening only a little: the fingers open along the fold direction, and a wide opening drags the
    # corner back outwards with the outer pad
    o.gripper(RELEASE_GAP, wait=0.4)
    o.move_tcp(np.array([t[0], t[1], t[2] + 0.08]), rot, steps=2, duration=0.8)
    return True


def run(world: World, passes: int = 3) -> Oracle:
    """Solve the scene's variant with ground truth: fold every corner onto its target, then re-fold the corners
    that ended (or were dragged) more than :data:`REFOLD_TOL` from it, for up to ``passes`` passes in all."""
    o = Oracle(world)
    task = world.task
    corners = task.corners
    if task.variant == "half":
        pairs = [(corners[0], corners[2]), (corners[1], corners[3])]
    else:
        pairs = [(corner, task.centre) for corner in corners]
    # a small napkin's folded corners all meet under the pads: stop 2 cm short of the centre (the rubric allows 5 cm)
    # so the pads do not press on, and drag away when released, the corners folded before
    short = NAPKIN_SHORT if task.variant != "half" and task.n <= 5 else 0.0
    todo = pairs
    for _ in range(passes):
        for corner, target in todo:
            fold_corner(o, world, corner, target, short=short)
        o.wait(0.5)
        dist = task.corner_distances(world)
        todo = [pair for pair, d in zip(pairs, dist, strict=True) if d > REFOLD_TOL]
        if not todo:
            break
    o.wait(0.3)
    return o
