"""Multi-process bring-up: the installed executables (fake-free: real sim_node, backends, manager) start, swap
backends through the CLI function, answer, and exit cleanly on SIGINT."""
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("maestro_sim.node")

from maestro_common.ros_testing import NodeProcess, unique_name
from maestro_interfaces.srv import DetectObjects

TINY = str(Path(__file__).with_name("data") / "tiny_yolo11_seg.onnx")


def _exe(name: str) -> str:
    from ament_index_python.packages import get_package_prefix

    path = Path(get_package_prefix("maestro_perception")) / "lib" / "maestro_perception" / name
    if not path.exists():
        pytest.skip(f"{path} not installed (colcon build maestro_perception)")
    return str(path)


def test_executables_swap_and_exit_cleanly(tmp_path, ros_context):
    import rclpy

    procs = {
        "sim": NodeProcess([sys.executable, "-c", "from maestro_sim.node import main; main()", "--ros-args",
                            "-p", "task:=put_ball_in_bowl"], log_path=tmp_path / "sim.log"),
        "sim_gt": NodeProcess([_exe("sim_gt_node")], log_path=tmp_path / "sim_gt.log"),
        "yolo": NodeProcess([_exe("yolo_node"), "--ros-args", "-p", f"weights:={TINY}"],
                            log_path=tmp_path / "yolo.log"),
        "manager": NodeProcess([_exe("perception_manager"), "--ros-args", "-p", "active_backend:=sim_gt"],
                               log_path=tmp_path / "manager.log"),
    }
    node = rclpy.create_node(unique_name("proc_client"), context=ros_context)
    try:
        from maestro_perception.cli import use_backend

        assert use_backend("yolo", timeout=60) == 0, procs["manager"].log_text()
        cli = node.create_client(DetectObjects, "/perception/detect_objects")
        from rclpy.executors import SingleThreadedExecutor

        ex = SingleThreadedExecutor(context=ros_context)
        ex.add_node(node)
        t = threading.Thread(target=ex.spin, daemon=True)
        t.start()
        assert cli.wait_for_service(timeout_sec=30)
        done = threading.Event()
        fut = cli.call_async(DetectObjects.Request(camera="front"))
        fut.add_done_callback(lambda _f: done.set())
        assert done.wait(60), procs["yolo"].log_text()
        assert fut.result().backend == "yolo"
        assert fut.result().error_code in (0, DetectObjects.Response.NO_DETECTIONS), fut.result().error_msg
        assert use_backend("sim_gt", timeout=60) == 0
        ex.shutdown(timeout_sec=2.0)
    finally:
        node.destroy_node()
        codes = {name: p.stop() for name, p in procs.items()}
    for name in ("sim_gt", "yolo", "manager"):
        assert codes[name] == 0, f"{name} exited with {codes[name]}:\n{procs[name].log_text()[-2000:]}"
