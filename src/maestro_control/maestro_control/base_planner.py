"""Mobile-base navigation: 2D occupancy grid from a depth camera, A* on the grid, pure-pursuit follower.

No ROS in here. Poses are (x, y, yaw) in the odom frame; the grid is centred on the robot.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_dilation


def wrap_angle(a: float) -> float:
    """Angle wrapped to (-pi, pi]."""
    return (a + math.pi) % (2 * math.pi) - math.pi


@dataclass
class OccupancyGrid:
    """A square grid (``size`` cells of ``resolution`` m) with its origin (lower-left corner) in odom."""

    origin: np.ndarray
    resolution: float
    occupied: np.ndarray  # bool (size, size), index [ix, iy]

    @classmethod
    def empty(cls, centre_xy: np.ndarray, size_m: float = 8.0, resolution: float = 0.05) -> OccupancyGrid:
        """An empty grid of ``size_m`` x ``size_m`` metres centred on ``centre_xy``."""
        n = int(round(size_m / resolution))
        origin = np.asarray(centre_xy, float) - size_m / 2
        return cls(origin, resolution, np.zeros((n, n), dtype=bool))

    def to_cell(self, xy: np.ndarray) -> tuple[int, int]:
        """Grid cell of an odom point (may be outside the grid)."""
        c = np.floor((np.asarray(xy, float) - self.origin) / self.resolution).astype(int)
        return int(c[0]), int(c[1])

    def to_xy(self, cell: tuple[int, int]) -> np.ndarray:
        """Odom coordinates of a cell centre."""
        return self.origin + (np.asarray(cell, float) + 0.5) * self.resolution

    def inside(self, cell: tuple[int, int]) -> bool:
        """True when ``cell`` is on the grid."""
        n = self.occupied.shape[0]
        return 0 <= cell[0] < n and 0 <= cell[1] < n

    def mark_points(self, points_odom: np.ndarray, z_min: float = 0.05, z_max: float = 1.2) -> int:
        """Mark the cells of points whose height is in [z_min, z_max] (obstacles; floor excluded). Returns count."""
        pts = np.asarray(points_odom, float).reshape(-1, 3)
        pts = pts[(pts[:, 2] >= z_min) & (pts[:, 2] <= z_max)]
        if not len(pts):
            return 0
        cells = np.floor((pts[:, :2] - self.origin) / self.resolution).astype(int)
        n = self.occupied.shape[0]
        ok = np.all((cells >= 0) & (cells < n), axis=1)
        self.occupied[cells[ok, 0], cells[ok, 1]] = True
        return int(ok.sum())

    def inflated(self, radius: float) -> np.ndarray:
        """Occupancy dilated by ``radius`` metres (the robot footprint)."""
        r = int(math.ceil(radius / self.resolution))
        if r <= 0:
            return self.occupied.copy()
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        disk = xx * xx + yy * yy <= r * r
        return binary_dilation(self.occupied, structure=disk)


def astar(blocked: np.ndarray, start: tuple[int, int], goal: tuple[int, int], max_expansions: int = 400000
          ) -> list[tuple[int, int]] | None:
    """8-connected A* on a boolean grid (True = blocked); returns the cell path or None."""
    n0, n1 = blocked.shape
    if not (0 <= goal[0] < n0 and 0 <= goal[1] < n1) or blocked[goal]:
        return None
    moves = [(1, 0, 1.0), (-1, 0, 1.0), (0, 1, 1.0), (0, -1, 1.0),
             (1, 1, math.sqrt(2)), (1, -1, math.sqrt(2)), (-1, 1, math.sqrt(2)), (-1, -1, math.sqrt(2))]

    def h(c: tuple[int, int]) -> float:
        dx, dy = abs(c[0] - goal[0]), abs(c[1] - goal[1])
        return (dx + dy) + (math.sqrt(2) - 2) * min(dx, dy)

    g = {start: 0.0}
    parent: dict[tuple[int, int], tuple[int, int]] = {}
    heap = [(h(start), 0.0, start)]
    closed: set[tuple[int, int]] = set()
    while heap and len(closed) < max_expansions:
        _, gc, cur = heapq.heappop(heap)
        if cur in closed:
            continue
        if cur == goal:
            path = [cur]
            while cur in parent:
                cur = parent[cur]
                path.append(cur)
            return path[::-1]
        closed.add(cur)
        for dx, dy, cost in moves:
            nb = (cur[0] + dx, cur[1] + dy)
            if not (0 <= nb[0] < n0 and 0 <= nb[1] < n1) or blocked[nb] or nb in closed:
                continue
            if dx and dy and (blocked[cur[0] + dx, cur[1]] or blocked[cur[0], cur[1] + dy]):
                continue  # no corner cutting
            ng = gc + cost
            if ng < g.get(nb, math.inf):
                g[nb] = ng
                parent[nb] = cur
                heapq.heappush(heap, (ng + h(nb), ng, nb))
    return None


def _line_free(blocked: np.ndarray, a: tuple[int, int], b: tuple[int, int]) -> bool:
    n = max(abs(b[0] - a[0]), abs(b[1] - a[1]), 1)
    for k in range(n + 1):
        x = int(round(a[0] + (b[0] - a[0]) * k / n))
        y = int(round(a[1] + (b[1] - a[1]) * k / n))
        if blocked[x, y]:
            return False
    return True


def shortcut(blocked: np.ndarray, cells: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Greedy line-of-sight shortcutting of a cell path."""
    if len(cells) <= 2:
        return cells
    out = [cells[0]]
    i = 0
    while i < len(cells) - 1:
        j = len(cells) - 1
        while j > i + 1 and not _line_free(blocked, cells[i], cells[j]):
            j -= 1
        out.append(cells[j])
        i = j
    return out


def plan_base_path(grid: OccupancyGrid, start_xy: np.ndarray, goal_xy: np.ndarray, footprint_radius: float
                   ) -> list[np.ndarray] | None:
    """Obstacle-free polyline (odom xy points) from start to goal, or None. The start cell is always treated free."""
    blocked = grid.inflated(footprint_radius)
    s, g = grid.to_cell(start_xy), grid.to_cell(goal_xy)
    if not grid.inside(s) or not grid.inside(g):
        return None
    blocked[s] = False
    cells = astar(blocked, s, g)
    if cells is None:
        return None
    pts = [grid.to_xy(c) for c in shortcut(blocked, cells)]
    pts[0] = np.asarray(start_xy, float)
    pts[-1] = np.asarray(goal_xy, float)
    return pts


class PurePursuit:
    """Pure-pursuit follower along a polyline, then a final in-place turn to the goal yaw.

    ``step(pose)`` returns (v, w, done) with v in m/s (forward) and w in rad/s.
    """

    def __init__(self, path: list[np.ndarray], goal_yaw: float, max_v: float = 0.5, max_w: float = 1.0,
                 lookahead: float = 0.3, pos_tol: float = 0.05, yaw_tol: float = 0.087) -> None:
        self.path = [np.asarray(p, float) for p in path]
        self.goal_yaw = goal_yaw
        self.max_v, self.max_w = max_v, max_w
        self.lookahead = lookahead
        self.pos_tol, self.yaw_tol = pos_tol, yaw_tol
        self._seg = 0
        self._arrived = False

    def distance_remaining(self, xy: np.ndarray) -> float:
        """Length of the rest of the path from ``xy``."""
        pts = [np.asarray(xy, float)] + self.path[self._seg + 1:]
        return float(sum(np.linalg.norm(b - a) for a, b in zip(pts[:-1], pts[1:], strict=True)))

    def _target(self, xy: np.ndarray) -> np.ndarray:
        while self._seg < len(self.path) - 2 and np.linalg.norm(self.path[self._seg + 1] - xy) < self.lookahead:
            self._seg += 1
        a, b = self.path[self._seg], self.path[min(self._seg + 1, len(self.path) - 1)]
        ab = b - a
        L = float(np.linalg.norm(ab))
        if L < 1e-9:
            return b
        t = float(np.clip((xy - a) @ ab / (L * L), 0, 1))
        t = min(1.0, t + self.lookahead / L)
        return a + t * ab

    def step(self, pose: tuple[float, float, float]) -> tuple[float, float, bool]:
        """Velocity command for the current pose (x, y, yaw)."""
        x, y, yaw = pose
        xy = np.array([x, y])
        goal = self.path[-1]
        dist = float(np.linalg.norm(goal - xy))
        if dist <= self.pos_tol * 0.5:
            self._arrived = True
        if self._arrived and dist > self.pos_tol * 2.0:
            self._arrived = False
        if self._arrived:
            e = wrap_angle(self.goal_yaw - yaw)
            if abs(e) <= self.yaw_tol * 0.5:
                return 0.0, 0.0, True
            return 0.0, float(np.clip(2.0 * e, -self.max_w, self.max_w)), False
        target = self._target(xy)
        dx, dy = target - xy
        local_x = math.cos(yaw) * dx + math.sin(yaw) * dy
        local_y = -math.sin(yaw) * dx + math.cos(yaw) * dy
        heading_err = math.atan2(local_y, local_x)
        if abs(heading_err) > 0.6:  # turn in place first
            return 0.0, float(np.clip(2.0 * heading_err, -self.max_w, self.max_w)), False
        ld2 = max(local_x * local_x + local_y * local_y, 1e-6)
        curvature = 2.0 * local_y / ld2
        v = min(self.max_v, 1.0 * dist + 0.03)
        w = v * curvature
        if abs(w) > self.max_w:
            v *= self.max_w / abs(w)
            w = math.copysign(self.max_w, w)
        return float(v), float(w), False
