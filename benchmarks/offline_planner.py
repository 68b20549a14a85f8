"""Offline planner speed: parse + code generation per instruction of the task suite, and reply parsing of LLMAgent.

Run: `source scripts/env.sh && python benchmarks/offline_planner.py` (no network, no ROS).
"""
from __future__ import annotations

import statistics
import time

from maestro_agent.models.base import AgentStep, PlanContext, ReflectContext
from maestro_agent.models.llm_agent import parse_reply
from maestro_agent.models.offline import OfflinePlanner

INSTRUCTIONS = [
    "Put the tennis ball into the bowl.", "Open the lower cabinet door by pulling the yellow door handle.",
    "Fold the four corners of the towel to the center.",
    "Erase the instructions on the whiteboard, then follow them to stack the cubes.",
    "Rotate the cube so that one of its purple faces points up.", "Hang the mug on the mug hanger stand.",
    "Cut the banana in half with the black knife, orthogonally.",
    "Clean the table by putting all the items into the bowl, from big size to small size.",
    "Open the door and enter the building.", "Search for the orange plush ball and return when it is grasped.",
    "Throw the green plush ball into the garbage can.", "Collect all plush toys on the white table.",
]
REPLY = "REASONING: ok\nSUBTASKS:\n1. a\n2. b\n```python\n" + "x = grasp('ball')\n" * 40 + "```\nVERDICT: CONTINUE\n"


def main() -> None:
    """Print median/max latencies in milliseconds."""
    planner = OfflinePlanner()
    times = []
    for _ in range(50):
        for ins in INSTRUCTIONS:
            t0 = time.perf_counter()
            step = planner.plan(PlanContext(ins))
            times.append((time.perf_counter() - t0) * 1e3)
            assert step.verdict == "CONTINUE", ins
    print(f"offline plan(): {len(times)} calls, median {statistics.median(times):.3f} ms, max {max(times):.3f} ms")
    ptimes = []
    for _ in range(2000):
        t0 = time.perf_counter()
        parse_reply(REPLY)
        ptimes.append((time.perf_counter() - t0) * 1e3)
    print(f"parse_reply (40-line code block): median {statistics.median(ptimes):.3f} ms, max {max(ptimes):.3f} ms")
    # the rule-based reflector: reflect() after a failed trial, and plan() reading 5 reflections of history
    ins = INSTRUCTIONS[1]
    first = planner.plan(PlanContext(ins))
    failed = [first, AgentStep(reasoning='x\noutcomes:\n[open_articulated] FAIL fraction=0.3 moved=0.02 '
                               'reason="the handle moved 0.020 m"', verdict="FAILED")]
    history: list[str] = []
    rtimes, htimes = [], []
    for i in range(500):
        t0 = time.perf_counter()
        text = planner.reflect(ReflectContext(ins, steps=failed, outcome="FAILED", progress=30.0 + i % 7,
                                              history=history[-5:]))
        rtimes.append((time.perf_counter() - t0) * 1e3)
        history.append(text)
        t0 = time.perf_counter()
        planner.plan(PlanContext(ins, history=history[-5:]))
        htimes.append((time.perf_counter() - t0) * 1e3)
    print(f"reflect() (rules, 5 reflections of history): median {statistics.median(rtimes):.3f} ms, "
          f"max {max(rtimes):.3f} ms; plan() with that history: median {statistics.median(htimes):.3f} ms")


if __name__ == "__main__":
    main()
