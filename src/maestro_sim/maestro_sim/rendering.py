"""Offscreen RGB, depth (metres) and instance-segmentation rendering of the world's cameras.

One :class:`SceneRenderer` per world and per thread (an OpenGL context is bound to the thread that created it).
Buffers are allocated once per camera and reused: the arrays returned by :meth:`SceneRenderer.render` are overwritten
by the next render of the same camera (copy them if you keep them).

Usage (the world lock only has to be held while the scene is snapshotted)::

    renderer = SceneRenderer(world)
    with world.lock:
        renderer.update(world.data)          # snapshot of every camera's scene (fast)
    frame = renderer.render("front")         # rgb (H,W,3) uint8, depth (H,W) float32 m, seg (H,W) int32
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mujoco
import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from maestro_sim.world import World


@dataclass
class Frame:
    """Images of one camera; views of the renderer's buffers."""

    rgb: np.ndarray    # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32, metres along the optical axis
    seg: np.ndarray    # (H, W) int32 instance ids (-1 background, 0 robot, 1.. objects)


class _CameraBuffers:
    def __init__(self, model: mujoco.MjModel, cam_id: int, width: int, height: int, max_geom: int,
                 shadows: bool) -> None:
        self.width, self.height = width, height
        self.scene = mujoco.MjvScene(model, maxgeom=max_geom)
        # shadows and reflections cost ~10x the rest of a frame on a CPU (llvmpipe)
        self.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = int(shadows)
        self.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self.camera.fixedcamid = cam_id
        self.rect = mujoco.MjrRect(0, 0, width, height)
        self.raw_rgb = np.zeros((height, width, 3), np.uint8)
        self.raw_depth = np.zeros((height, width), np.float32)
        self.raw_seg = np.zeros((height, width, 3), np.uint8)
        self.seg_code = np.zeros((height, width), np.int32)
        self.seg_tmp = np.zeros((height, width), np.int32)
        self.depth64 = np.zeros((height, width), np.float64)
        self.frame = Frame(np.zeros((height, width, 3), np.uint8), np.zeros((height, width), np.float32),
                           np.zeros((height, width), np.int32))
        self.lut = np.full(max_geom + 1, -1, np.int32)


class SceneRenderer:
    """Renders the world's cameras with reused buffers (see the module docstring)."""

    def __init__(self, world: World, max_geom: int = 2000, shadows: bool = False) -> None:
        self.model = world.model
        self.geom_instance = world.geom_instance
        self.flex_instance = world.flex_instance
        cams = list(world.cameras.values())
        width = max(c.width for c in cams)
        height = max(c.height for c in cams)
        from mujoco.gl_context import GLContext  # chosen by MUJOCO_GL (egl / osmesa / glfw)

        self._gl = GLContext(width, height)
        self._gl.make_current()
        self.context = mujoco.MjrContext(self.model, mujoco.mjtFontScale.mjFONTSCALE_150)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self.context)
        self.option = mujoco.MjvOption()
        self.perturb = mujoco.MjvPerturb()
        self.buffers = {c.name: _CameraBuffers(self.model, self.model.camera(c.name).id, c.width, c.height, max_geom,
                                                shadows)
                        for c in cams}
        extent = float(self.model.stat.extent)
        near = np.float32(self.model.vis.map.znear * extent)
        far = np.float32(self.model.vis.map.zfar * extent)
        # window depth z in [0, 1] -> metric depth: near * far / (far - z * (far - near))
        self._nf, self._f, self._fn = float(near * far), float(far), float(far - near)
        self.gl_renderer = gl_renderer_name()

    @property
    def cameras(self) -> list[str]:
        """Names of the cameras this renderer serves."""
        return list(self.buffers)

    def update(self, data: mujoco.MjData, cameras: list[str] | None = None) -> None:
        """Snapshot the scene of each camera from ``data`` (hold the world lock while calling this)."""
        for name in cameras or self.buffers:
            b = self.buffers[name]
            mujoco.mjv_updateScene(self.model, data, self.option, self.perturb, b.camera,
                                   mujoco.mjtCatBit.mjCAT_ALL, b.scene)

    def render(self, camera: str, depth: bool = True, segmentation: bool = True) -> Frame:
        """Render the last snapshot of ``camera``: RGB (+ depth) in one pass, segmentation in a second pass."""
        b = self.buffers[camera]
        self._gl.make_current()
        mujoco.mjr_render(b.rect, b.scene, self.context)
        mujoco.mjr_readPixels(b.raw_rgb, b.raw_depth if depth else None, b.rect, self.context)
        np.copyto(b.frame.rgb, b.raw_rgb[::-1])
        if depth:
            np.copyto(b.depth64, b.raw_depth[::-1])
            b.depth64 *= -self._fn
            b.depth64 += self._f
            np.divide(self._nf, b.depth64, out=b.depth64)
            np.copyto(b.frame.depth, b.depth64, casting="unsafe")
        if segmentation:
            self._render_segmentation(b)
        return b.frame

    def _render_segmentation(self, b: _CameraBuffers) -> None:
        flags = b.scene.flags
        seg_flag, id_flag = mujoco.mjtRndFlag.mjRND_SEGMENT, mujoco.mjtRndFlag.mjRND_IDCOLOR
        old_seg, old_id = flags[seg_flag], flags[id_flag]
        flags[seg_flag], flags[id_flag] = 1, 1
        try:
            mujoco.mjr_render(b.rect, b.scene, self.context)
            mujoco.mjr_readPixels(b.raw_seg, None, b.rect, self.context)
        finally:
            flags[seg_flag], flags[id_flag] = old_seg, old_id
        lut = b.lut
        lut.fill(-1)
        geom_type, flex_type = int(mujoco.mjtObj.mjOBJ_GEOM), int(mujoco.mjtObj.mjOBJ_FLEX)
        for i in range(b.scene.ngeom):
            g = b.scene.geoms[i]
            if g.segid < 0:
                continue
            if g.objtype == geom_type and 0 <= g.objid < len(self.geom_instance):
                lut[g.segid + 1] = self.geom_instance[g.objid]
            elif g.objtype == flex_type and 0 <= g.objid < len(self.flex_instance):
                lut[g.segid + 1] = self.flex_instance[g.objid]  # cloth: one scene geom for the whole flex
        flipped = b.raw_seg[::-1]
        np.copyto(b.seg_code, flipped[:, :, 2], casting="unsafe")
        np.left_shift(b.seg_code, 8, out=b.seg_code)
        np.copyto(b.seg_tmp, flipped[:, :, 1], casting="unsafe")
        np.bitwise_or(b.seg_code, b.seg_tmp, out=b.seg_code)
        np.left_shift(b.seg_code, 8, out=b.seg_code)
        np.copyto(b.seg_tmp, flipped[:, :, 0], casting="unsafe")
        np.bitwise_or(b.seg_code, b.seg_tmp, out=b.seg_code)
        np.clip(b.seg_code, 0, len(lut) - 1, out=b.seg_code)
        np.take(lut, b.seg_code, out=b.frame.seg)

    def close(self) -> None:
        """Free the GL resources (call from the rendering thread)."""
        if self._gl is not None:
            self._gl.make_current()
            self.context.free()
            self._gl.free()
            self._gl = None


def gl_renderer_name() -> str:
    """GL_RENDERER of the current context (e.g. 'llvmpipe (LLVM 15.0.6, 256 bits)'), or 'unknown'."""
    try:
        from OpenGL import GL

        name = GL.glGetString(GL.GL_RENDERER)
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception as exc:  # PyOpenGL missing or no current context
        return f"unknown ({type(exc).__name__})"
