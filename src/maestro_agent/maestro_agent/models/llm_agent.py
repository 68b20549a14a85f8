"""An AgentModel over any ChatClient: fills the prompt files, sends images inline, and parses the replies.

Replies are parsed robustly: ```python fences (several blocks are joined), a ``VERDICT:`` line (markdown emphasis
tolerated), and a ``SUBTASKS:`` list (numbered/bulleted lines or a JSON list). A malformed reply (no code where code is
needed, code that does not compile, no verdict) gets ONE corrective re-ask; a second malformed reply raises
:class:`ModelError` with what was wrong.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from maestro_agent.models.base import (
    VERDICTS,
    AgentStep,
    ModelError,
    PlanContext,
    ReactContext,
    ReflectContext,
)
from maestro_agent.models.chat import ChatClient, ChatMessage
from maestro_agent.models.prompting import describe_embodiment, render

_FENCE = re.compile(r"```[ \t]*(python|py)?[ \t]*\n(.*?)```", re.S | re.I)
_VERDICT = re.compile(r"VERDICT[\s*_`\"':=\-]*(" + "|".join(VERDICTS) + r")\b", re.I)
_SUBTASKS = re.compile(r"SUBTASKS\s*:\s*(.*?)(?=\n\s*(?:REASONING|VERDICT|```)|\Z)", re.S | re.I)
_REASONING = re.compile(r"REASONING\s*:\s*(.*?)(?=\n\s*(?:SUBTASKS|VERDICT)\s*:|```|\Z)", re.S | re.I)

MAX_STDOUT_CHARS = 6000
MAX_CODE_CHARS = 8000


@dataclass
class ParsedReply:
    """What was found in a model reply."""

    reasoning: str
    code: str
    verdict: str | None
    subtasks: list[str]


def parse_reply(text: str) -> ParsedReply:
    """Extract reasoning, code, verdict and subtasks from a model reply (tolerant of formatting noise)."""
    blocks = _FENCE.findall(text or "")
    python_blocks = [body for lang, body in blocks if lang] or [body for _, body in blocks]
    code = "\n".join(b.strip("\n") for b in python_blocks).strip("\n")
    verdicts = _VERDICT.findall(text or "")
    verdict = verdicts[-1].upper() if verdicts else None
    subtasks: list[str] = []
    m = _SUBTASKS.search(text or "")
    if m:
        body = m.group(1).strip()
        if body.startswith("["):
            try:
                loaded = json.loads(body[: body.index("]") + 1])
                subtasks = [str(x).strip() for x in loaded if str(x).strip()]
            except ValueError:
                subtasks = []
        if not subtasks:
            for line in body.splitlines():
                item = re.sub(r"^\s*(?:\d+[.)]|[-*•])\s*", "", line).strip()
                if item:
                    subtasks.append(item)
    rm = _REASONING.search(text or "")
    if rm:
        reasoning = rm.group(1).strip()
    else:
        reasoning = _FENCE.sub("", text or "")
        reasoning = _VERDICT.sub("", reasoning)
        reasoning = re.sub(r"SUBTASKS\s*:.*", "", reasoning, flags=re.S | re.I).strip()
    return ParsedReply(reasoning=reasoning, code=code, verdict=verdict, subtasks=subtasks)


def problems_of(parsed: ParsedReply, kind: str) -> list[str]:
    """What is wrong with a parsed plan/react reply (empty list = fine)."""
    problems = []
    verdict = parsed.verdict or ("CONTINUE" if kind == "plan" and parsed.code else None)
    if verdict is None:
        problems.append("there is no 'VERDICT: <CONTINUE|RETRY|TASK_COMPLETE|FAILED>' line")
    if verdict in ("CONTINUE", "RETRY") and not parsed.code.strip():
        problems.append(f"VERDICT {verdict} needs the code of the next substep in one ```python block")
    if parsed.code.strip():
        try:
            compile(parsed.code, "<reply>", "exec")
        except SyntaxError as exc:
            problems.append(f"the code does not compile: {exc.msg} at line {exc.lineno}")
    return problems


def _tail(text: str, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else f"[... {len(text) - limit} characters cut ...]\n" + text[-limit:]


class LLMAgent:
    """AgentModel backed by a chat VLM (Gemini, OpenAI-compatible, ...)."""

    def __init__(self, chat: ChatClient, harness_note: str = "", max_reasks: int = 1, **_: Any) -> None:
        """``chat``: the client; ``harness_note``: what to tell the model about the harness skills."""
        self.chat = chat
        self.name = getattr(chat, "name", "llm")
        self.max_reasks = max_reasks
        self.harness_note = harness_note

    # -- prompts -----------------------------------------------------------------------------------------------------
    def system_prompt(self, ctx: PlanContext) -> str:
        """The system prompt: role, rules, verification, harness idea, embodiment and API docs."""
        note = self.harness_note or (
            "Harness skills (grasp, place_in, place_on, open_articulated, look_for, wipe, go_to, release) wrap "
            "fragile tool chains: they retry alternatives, check their own outcome, show verification images and "
            "print one line `[skill] ok ...` or `[skill] FAIL ... reason=\"...\"`. Prefer them; fall back to the "
            "atomic tools when you need finer control."
            if "Harness skills" in (ctx.api_docs or "") else
            "The harness is OFF: only the atomic tools below exist. Compose them yourself (detect, plan grasps, "
            "move, close the gripper, check `holding`, lift) and check every step."
        )
        return render("system", embodiment=describe_embodiment(ctx.embodiment), harness_note=note,
                      api_docs=ctx.api_docs or "(no tools discovered)")

    @staticmethod
    def _history(ctx: PlanContext) -> str:
        if not ctx.history:
            return ""
        return "# Lessons from earlier trials of this task\n" + "\n".join(f"- {h}" for h in ctx.history) + "\n"

    def _previous(self, steps: list[AgentStep]) -> str:
        if not steps:
            return "(none)"
        return "\n".join(f"{i + 1}. [{s.verdict}] {s.reasoning[:300]}" for i, s in enumerate(steps[-6:]))

    # -- protocol ----------------------------------------------------------------------------------------------------
    def plan(self, ctx: PlanContext) -> AgentStep:
        """Ask for the subtasks and the first substep's code."""
        user = render("plan", instruction=ctx.instruction, history=self._history(ctx))
        return self._ask("plan", ctx, user, ctx.images)

    def react(self, ctx: ReactContext) -> AgentStep:
        """Show the substep outcome (code, stdout, error, state, images) and ask for the next step."""
        subtasks = next((s.subtasks for s in ctx.steps if s.subtasks), [])
        user = render(
            "react",
            instruction=ctx.instruction,
            subtasks="\n".join(f"{i + 1}. {s}" for i, s in enumerate(subtasks)) or "(none given)",
            substep=ctx.substep,
            code=_tail(ctx.code, MAX_CODE_CHARS),
            stdout=_tail(ctx.stdout, MAX_STDOUT_CHARS) or "(nothing printed)",
            error=ctx.error or "(none)",
            robot_state=json.dumps(ctx.robot_state, default=str)[:3000] if ctx.robot_state else "(not available)",
            previous=self._previous(ctx.steps),
        )
        step = self._ask("react", ctx, self._history(ctx) + user, ctx.images)
        if not step.subtasks:
            step.subtasks = list(subtasks)
        return step

    def reflect(self, ctx: ReflectContext) -> str:
        """Ask for a short lesson for the next trial (free text)."""
        steps = "\n\n".join(f"{i + 1}. [{s.verdict}] {s.reasoning[:400]}\n```python\n{_tail(s.code, 1500)}\n```"
                            for i, s in enumerate(ctx.steps[-8:])) or "(no steps)"
        user = render("reflect", instruction=ctx.instruction, outcome=ctx.outcome or "unknown",
                      progress=f"{ctx.progress:.0f}" if ctx.progress >= 0 else "unknown", steps=steps,
                      trace=_tail(ctx.trace_summary, 4000) or "(none)")
        reply = self.chat.complete([ChatMessage("system", self.system_prompt(ctx)),
                                    ChatMessage("user", user, images=list(ctx.images))])
        text = reply.text.strip()
        if not text:
            raise ModelError(f"{self.name}: empty reflection")
        return text

    # -- internals ---------------------------------------------------------------------------------------------------
    def _ask(self, kind: str, ctx: PlanContext, user: str, images: list) -> AgentStep:
        messages = [ChatMessage("system", self.system_prompt(ctx)), ChatMessage("user", user, images=list(images))]
        usage = {"input_tokens": 0.0, "output_tokens": 0.0, "latency_s": 0.0, "reasks": 0.0}
        for attempt in range(self.max_reasks + 1):
            reply = self.chat.complete(messages)
            for key in ("input_tokens", "output_tokens", "latency_s"):
                usage[key] += float(reply.usage.get(key, 0.0))
            parsed = parse_reply(reply.text)
            problems = problems_of(parsed, kind)
            if not problems:
                verdict = parsed.verdict or "CONTINUE"
                code = parsed.code if verdict in ("CONTINUE", "RETRY") else ""
                return AgentStep(reasoning=parsed.reasoning, code=code, verdict=verdict, subtasks=parsed.subtasks,
                                 usage=usage)
            if attempt >= self.max_reasks:
                raise ModelError(f"{self.name}: malformed {kind} reply after {attempt + 1} tries: "
                                 f"{'; '.join(problems)}. Reply started with: {reply.text[:200]!r}")
            usage["reasks"] += 1
            messages = messages + [
                ChatMessage("assistant", reply.text),
                ChatMessage("user", "Your reply could not be used: " + "; ".join(problems) + ". Answer again in the "
                            "required format: REASONING: ..., (SUBTASKS: ...), one ```python block, VERDICT: ..."),
            ]
        raise ModelError(f"{self.name}: no usable reply")  # pragma: no cover - loop always returns or raises
