"""Agent overhead: one tool call through stub + sandbox + ROS vs in-process, per-substep agent overhead, memory.

Run: ``source scripts/env.sh && python benchmarks/agent_overhead.py [--calls 300] [--substeps 10]``

Everything runs on this machine in a private ROS domain (loopback only) against the in-process fake tool servers of
the agent tests (``src/maestro_agent/test/fake_ros_tools.py``), so the numbers measure the agent's own machinery:
JSON-RPC over pipes, the bubblewrap child, message conversion, DDS round trip, recording and observation collection.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 100)))

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("fake_ros_tools", ROOT / "src/maestro_agent/test/fake_ros_tools.py")
fake_ros_tools = importlib.util.module_from_spec(_spec)
sys.modules["fake_ros_tools"] = fake_ros_tools
_spec.loader.exec_module(fake_ros_tools)


def pct(values: list[float], q: float) -> float:
    """Percentile (nearest rank) of ``values``."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def describe(name: str, ms: list[float]) -> None:
    """Print p50/p90/p99/mean in milliseconds."""
    print(f"{name:<44} p50 {pct(ms, 50):7.3f} ms   p90 {pct(ms, 90):7.3f} ms   p99 {pct(ms, 99):7.3f} ms   "
          f"mean {statistics.fmean(ms):7.3f} ms   (n={len(ms)})")


class InstantModel:
    """A model with no latency: runs a fixed substep code until the budget ends."""

    name = "instant"

    def __init__(self, code: str) -> None:
        self.code = code

    def plan(self, ctx: object) -> object:
        from maestro_agent.models.base import AgentStep

        return AgentStep(code=self.code, subtasks=["bench"])

    def react(self, ctx: object) -> object:
        from maestro_agent.models.base import AgentStep

        return AgentStep(verdict="CONTINUE", code=self.code)

    def reflect(self, ctx: object) -> str:
        return ""


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--substeps", type=int, default=10)
    args = parser.parse_args()

    import rclpy
    from rclpy.callback_groups import ReentrantCallbackGroup
    from rclpy.context import Context
    from rclpy.node import Node

    from maestro_agent import msgconv, stubgen
    from maestro_agent.dispatch import ToolDispatcher
    from maestro_agent.loop import AgentLoop, LoopConfig
    from maestro_agent.observations import ObservationCollector
    from maestro_agent.recorder import TraceRecorder
    from maestro_agent.registry import ToolRegistry
    from maestro_agent.sandbox import SandboxProcess
    from maestro_common.ros_testing import SpinningExecutor
    from maestro_interfaces.srv import GetRobotState

    ctx = Context()
    rclpy.init(context=ctx)
    ex = SpinningExecutor(ctx)
    tmp = Path(tempfile.mkdtemp(prefix="agent_bench_"))
    try:
        fake = ex.add(fake_ros_tools.FakeTools(f"bench_fake_{os.getpid()}", motion_s=0.05, context=ctx))
        agent = ex.add(Node(f"bench_agent_{os.getpid()}", context=ctx))
        registry = ToolRegistry(agent, callback_group=ReentrantCallbackGroup())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(registry.tools()) < 6:
            registry.refresh()
            time.sleep(0.1)
        print(f"tools: {', '.join(registry.tools())}   ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}")

        # 1) the service function in-process (no ROS, no sandbox)
        ms = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            fake._state(GetRobotState.Request(), GetRobotState.Response())
            ms.append((time.perf_counter() - t0) * 1e3)
        describe("in-process function (get_robot_state)", ms)

        # 2) through the dispatcher over ROS (conversion + DDS), no sandbox
        dispatcher = ToolDispatcher(registry, msgconv.RefStore())
        for _ in range(20):
            dispatcher.call("get_robot_state", {})
        ms = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            dispatcher.call("get_robot_state", {})
            ms.append((time.perf_counter() - t0) * 1e3)
        describe("ROS service via dispatcher (no sandbox)", ms)

        # 3) stub inside the sandbox -> JSON-RPC -> dispatcher -> ROS -> back
        sandbox = SandboxProcess(dispatcher.handle)
        sandbox.configure(stubgen.render_module(registry.specs()))
        t0 = time.perf_counter()
        sandbox.start()
        start_ms = (time.perf_counter() - t0) * 1e3
        code = (f"import time\nfor _ in range(20):\n    get_robot_state()\nms = []\nfor _ in range({args.calls}):\n"
                "    t = time.perf_counter()\n    r = get_robot_state()\n    ms.append((time.perf_counter() - t) * 1e3)\n"
                "print(' '.join(f'{v:.4f}' for v in ms))\n")
        res = sandbox.execute(code, 1, 120)
        assert res.ok, res.error
        describe(f"stub in sandbox ({sandbox.mode}) -> ROS", [float(v) for v in res.stdout.split()])
        res = sandbox.execute(code.replace("get_robot_state()", "detect_objects(labels=['ball'], annotate=True)"),
                              2, 120)
        assert res.ok, res.error
        describe("stub detect_objects + annotated image ref", [float(v) for v in res.stdout.split()])
        print(f"{'sandbox child start (spawn + stubs)':<44} {start_ms:7.1f} ms")
        sandbox.close()

        # 4) per-substep agent overhead with a zero-latency model (execute + observe + record + react plumbing)
        recorder = TraceRecorder(tmp / "trace")
        dispatcher = ToolDispatcher(registry, msgconv.RefStore(), on_call=lambda c: recorder.event("tool_call", **c))
        observer = ObservationCollector(dispatcher, recorder)
        sandbox = SandboxProcess(dispatcher.handle)
        loop = AgentLoop(InstantModel("r = detect_objects(labels=['ball'], annotate=True)\nprint(len(r.detections))\n"),
                         sandbox, registry, dispatcher, observer, recorder, {"name": "franka"})
        sandbox._on_event = loop.on_sandbox_event
        t0 = time.perf_counter()
        result = loop.run(LoopConfig(instruction="bench", max_substeps=args.substeps, substep_timeout=30,
                                     harness=False))
        total = time.perf_counter() - t0
        sandbox.close()
        recorder.close()
        per = total / max(result.substeps, 1) * 1e3
        print(f"{'agent overhead per substep (model = 0 ms)':<44} {per:7.1f} ms   ({result.substeps} substeps, "
              f"incl. sandbox start, 1 tool call, camera capture + PNG, robot state, trace)")

        self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"{'peak RSS agent process (with fake servers)':<44} {self_mb:7.1f} MiB")
        print(f"{'peak RSS largest sandbox child':<44} {child_mb:7.1f} MiB")
        del fake
    finally:
        ex.close()
        rclpy.shutdown(context=ctx)


if __name__ == "__main__":
    main()
