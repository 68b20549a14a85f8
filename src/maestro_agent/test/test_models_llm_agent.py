"""LLMAgent reply parsing, corrective re-ask, prompts; replay round trip; create()."""
from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest

from maestro_agent.models import create
from maestro_agent.models.base import AgentStep, ModelError, PlanContext, ReactContext, ReflectContext
from maestro_agent.models.chat import ChatReply
from maestro_agent.models.llm_agent import LLMAgent, parse_reply, problems_of
from maestro_agent.models.offline import OfflinePlanner
from maestro_agent.models.prompting import PROMPT_NAMES, describe_embodiment, load_prompt, prompt_versions
from maestro_agent.models.replay import ReplayModel, request_key

_spec = importlib.util.spec_from_file_location("chat_server", Path(__file__).with_name("chat_server.py"))
chat_server = importlib.util.module_from_spec(_spec)
sys.modules["chat_server"] = chat_server
_spec.loader.exec_module(chat_server)

FRANKA = {"embodiment": "franka", "description": "Panda arm", "frames": {"base": "panda_link0", "tcp": "panda_tcp"},
          "arm": {"joint_names": ["j1", "j2"], "lower": [-1.0, -2.0], "upper": [1.0, 2.0], "home": [0, 0]},
          "gripper": {"max_width": 0.08, "max_force": 70}, "base": None,
          "cameras": {"front": {"width": 640, "height": 480, "depth": True}}, "main_camera": "front"}

GOOD_PLAN = """REASONING: I see a ball and a bowl.
SUBTASKS:
1. grasp the ball
2. put it in the bowl
```python
r = grasp("tennis ball")
print(r)
```
VERDICT: CONTINUE
"""


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, format="PNG")
    return buf.getvalue()


class ScriptedChat:
    name = "scripted"

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.calls: list[list] = []

    def complete(self, messages):
        self.calls.append(messages)
        return ChatReply(self.replies.pop(0), {"input_tokens": 100, "output_tokens": 20, "latency_s": 0.5})


def test_parse_reply_variants() -> None:
    p = parse_reply(GOOD_PLAN)
    assert p.verdict == "CONTINUE" and p.subtasks == ["grasp the ball", "put it in the bowl"]
    assert p.code == 'r = grasp("tennis ball")\nprint(r)' and p.reasoning == "I see a ball and a bowl."
    p = parse_reply("Looks done.\n**VERDICT:** `task_complete`")
    assert p.verdict == "TASK_COMPLETE" and p.code == "" and "Looks done" in p.reasoning
    p = parse_reply('SUBTASKS: ["a", "b"]\n```py\nx = 1\n```\ntext\n```python\ny = 2\n```\nVERDICT: RETRY')
    assert p.subtasks == ["a", "b"] and p.code == "x = 1\ny = 2" and p.verdict == "RETRY"
    p = parse_reply("```\nprint('untagged fence')\n```\nVERDICT - CONTINUE")
    assert p.code == "print('untagged fence')" and p.verdict == "CONTINUE"


def test_problems_of_detects_malformed_replies() -> None:
    assert problems_of(parse_reply(GOOD_PLAN), "plan") == []
    assert problems_of(parse_reply("```python\nx = 1\n```"), "plan") == []  # plan: code implies CONTINUE
    assert "no 'VERDICT" in problems_of(parse_reply("```python\nx = 1\n```"), "react")[0]
    assert "needs the code" in problems_of(parse_reply("VERDICT: CONTINUE"), "react")[0]
    assert "does not compile" in problems_of(parse_reply("```python\nif x\n```\nVERDICT: RETRY"), "react")[0]


def test_plan_sends_system_prompt_docs_embodiment_and_images() -> None:
    chat = ScriptedChat([GOOD_PLAN])
    agent = LLMAgent(chat)
    ctx = PlanContext("Put the tennis ball into the bowl.", api_docs="### detect_objects(...)\nHarness skills",
                      embodiment=FRANKA, images=[("front camera", _png())], history=["grasp from the side"])
    step = agent.plan(ctx)
    assert step.verdict == "CONTINUE" and "grasp(" in step.code and len(step.subtasks) == 2
    assert step.usage["input_tokens"] == 100 and step.usage["reasks"] == 0
    system, user = chat.calls[0]
    assert system.role == "system" and "### detect_objects" in system.text and "panda_link0" in system.text
    assert "j1 [-1.00, 1.00]" in system.text and "Mobile base: none" in system.text
    assert "Put the tennis ball" in user.text and "grasp from the side" in user.text
    assert user.images and user.images[0][0] == "front camera"


def test_malformed_reply_gets_one_corrective_reask() -> None:
    chat = ScriptedChat(["I will grasp it.", GOOD_PLAN.replace("CONTINUE", "RETRY")])
    step = LLMAgent(chat).react(ReactContext("task", substep=1, code="x=1", stdout="[grasp] FAIL"))
    assert step.verdict == "RETRY" and step.usage["reasks"] == 1 and step.usage["input_tokens"] == 200
    reask = chat.calls[1]
    assert reask[-2].role == "assistant" and "could not be used" in reask[-1].text


def test_malformed_twice_is_a_clear_failure() -> None:
    chat = ScriptedChat(["nonsense", "still nonsense"])
    with pytest.raises(ModelError, match="malformed react reply after 2 tries: there is no 'VERDICT"):
        LLMAgent(chat).react(ReactContext("task", substep=1))


def test_react_prompt_carries_outcome_and_keeps_subtasks() -> None:
    chat = ScriptedChat(["All done, the ball is in the bowl.\nVERDICT: TASK_COMPLETE"])
    prev = AgentStep(reasoning="plan", code="x=1", subtasks=["a", "b"])
    ctx = ReactContext("task", substep=2, code="grasp('ball')", stdout="[grasp] ok held=True",
                       error="ValueError: boom", robot_state={"gripper_holding": True}, steps=[prev],
                       images=[("wrist", _png())])
    step = LLMAgent(chat).react(ctx)
    assert step.verdict == "TASK_COMPLETE" and step.code == "" and step.subtasks == ["a", "b"]
    user = chat.calls[0][1].text
    for part in ("[grasp] ok held=True", "ValueError: boom", "gripper_holding", "1. a", "grasp('ball')"):
        assert part in user


def test_reflect_returns_text() -> None:
    chat = ScriptedChat(["- approach from the side"])
    text = LLMAgent(chat).reflect(ReflectContext("task", steps=[AgentStep(code="x")], outcome="FAILED", progress=30))
    assert text == "- approach from the side" and "FAILED" in chat.calls[0][1].text


def test_prompts_are_versioned_and_describe_mobile_base() -> None:
    assert set(prompt_versions()) == set(PROMPT_NAMES)
    for name in PROMPT_NAMES:
        version, body = load_prompt(name)
        assert version.isdigit() and body
    assert "$api_docs" in load_prompt("system")[1]
    mobile = describe_embodiment({"embodiment": "go2w_piper", "base": {"max_linear": 0.8, "max_angular": 1.5}})
    assert "Mobile base: yes" in mobile and "0.8 m/s" in mobile


def test_llm_agent_over_openai_loopback_end_to_end() -> None:
    script = chat_server.Scripted([(429, {"error": "slow down"}), (200, chat_server.openai_body(GOOD_PLAN))])
    with chat_server.serve(script) as url:
        agent = create("openai:test-vlm", base_url=url, api_key="x", backoff_s=0.01)
        step = agent.plan(PlanContext("Put the ball in the bowl.", images=[("front", _png())]))
    assert step.verdict == "CONTINUE" and "grasp" in step.code
    body = script.requests[-1]
    assert any(p.get("type") == "image_url" for p in body["messages"][1]["content"])


def test_replay_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    inner = OfflinePlanner()
    rec = ReplayModel(path, record=True, inner=inner)
    ctx = PlanContext("Put the tennis ball into the bowl.")
    planned = rec.plan(ctx)
    rctx = ReactContext(ctx.instruction, substep=1, code=planned.code, stdout="[step] ok index=1 of=1")
    reacted = rec.react(rctx)
    lesson = rec.reflect(ReflectContext(ctx.instruction, steps=[planned, reacted], outcome="TASK_COMPLETE"))
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["plan", "react", "reflect"]
    assert lines[0]["key"] == request_key("plan", ctx)
    # recording again hits the cache: no new lines
    assert ReplayModel(path, record=True, inner=inner).plan(ctx).code == planned.code
    assert len(path.read_text().splitlines()) == 3
    # playback through create(): same answers, no inner model
    play = create(f"replay:{path}")
    assert play.plan(ctx).code == planned.code
    assert play.react(rctx).verdict == reacted.verdict == "TASK_COMPLETE"
    assert play.reflect(ReflectContext(ctx.instruction, steps=[planned, reacted], outcome="TASK_COMPLETE")) == lesson
    with pytest.raises(ModelError, match="no more 'react'"):
        play.react(ReactContext(ctx.instruction, substep=2, code="other"))


def test_replay_sequential_fallback_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"kind": "plan", "key": "other", "step": {"code": "x = 1", "verdict": "CONTINUE"}})
                    + "\n")
    assert ReplayModel(path).plan(PlanContext("anything")).code == "x = 1"
    with pytest.raises(ModelError, match="does not exist"):
        create(f"replay:{tmp_path / 'missing.jsonl'}")
    path.write_text("{not json\n")
    with pytest.raises(ModelError, match="not a JSON line"):
        ReplayModel(path)


def test_create_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    assert create("").name == "offline"
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    assert create("").name.startswith("gemini-")
    assert create("gemini-2.5-pro").name == "gemini-2.5-pro"
    with pytest.raises(ValueError, match="unknown model spec"):
        create("claude")
    with pytest.raises(ValueError, match="needs a model name"):
        create("openai:")
