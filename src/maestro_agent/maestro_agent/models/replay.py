"""Replay (and record) model transcripts: JSON lines of AgentSteps, keyed by a hash of the request.

Like VoxPoser's LLM cache, a recorded transcript makes runs repeatable without a network: ``replay:<path>`` answers
``plan``/``react``/``reflect`` from the file. Look-up is by request hash first (the same context gives the same answer);
when no hash matches, the next unused record of the same kind is used (so a transcript recorded in a slightly
different scene still plays back in order). With ``record=True`` and an ``inner`` model, misses are answered by the
inner model and appended to the file.

Each line: ``{"kind": "plan"|"react"|"reflect", "key": "<sha256>", "step": {AgentStep fields}}`` or, for reflect,
``{"kind": "reflect", "key": ..., "text": "..."}``.
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from maestro_agent.models.base import AgentModel, AgentStep, ModelError, PlanContext, ReactContext, ReflectContext


def request_key(kind: str, ctx: PlanContext) -> str:
    """Stable hash of what a model sees for a request (images by content hash)."""
    data: dict[str, Any] = {
        "kind": kind,
        "instruction": ctx.instruction,
        "api_docs": hashlib.sha256((ctx.api_docs or "").encode()).hexdigest(),
        "history": list(ctx.history),
        "images": [[c, hashlib.sha256(b).hexdigest()] for c, b in ctx.images],
    }
    if isinstance(ctx, ReactContext):
        data.update(substep=ctx.substep, code=ctx.code, stdout=ctx.stdout, error=ctx.error)
    if isinstance(ctx, ReflectContext):
        data.update(outcome=ctx.outcome, steps=[s.to_dict() for s in ctx.steps])
        for s in data["steps"]:
            s.pop("usage", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class ReplayModel:
    """AgentModel that answers from a transcript file (and optionally records misses from an inner model)."""

    def __init__(self, path: str | Path, record: bool = False, inner: AgentModel | None = None, **_: Any) -> None:
        """Open ``path`` (created when recording); ``inner`` answers misses when ``record`` is true."""
        self.path = Path(path).expanduser()
        self.record = record
        self.inner = inner
        self.name = f"replay:{self.path}"
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._used: set[int] = set()
        if self.path.is_file():
            for n, line in enumerate(self.path.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as exc:
                    raise ModelError(f"{self.path}:{n}: not a JSON line ({exc})") from exc
                if rec.get("kind") not in ("plan", "react", "reflect"):
                    raise ModelError(f"{self.path}:{n}: 'kind' must be plan, react or reflect")
                self._records.append(rec)
        elif not record:
            raise ModelError(f"replay transcript {self.path} does not exist; record one with "
                             "ReplayModel(path, record=True, inner=<model>)")
        if record and inner is None:
            raise ModelError("recording a transcript needs an inner model (inner=models.create('gemini-...'))")

    def _lookup(self, kind: str, key: str) -> dict[str, Any] | None:
        for i, rec in enumerate(self._records):
            if rec.get("key") == key and rec["kind"] == kind:
                self._used.add(i)
                return rec
        if self.record:
            return None  # a miss is answered by the inner model
        for i, rec in enumerate(self._records):
            if i not in self._used and rec["kind"] == kind:
                self._used.add(i)
                return rec
        return None

    def _append(self, rec: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        self._records.append(rec)
        self._used.add(len(self._records) - 1)

    def _step(self, kind: str, ctx: PlanContext) -> AgentStep:
        key = request_key(kind, ctx)
        with self._lock:
            rec = self._lookup(kind, key)
        if rec is not None:
            step = AgentStep.from_dict(rec.get("step", {}))
            step.usage = {"input_tokens": 0, "output_tokens": 0, "latency_s": 0.0, "cached": 1}
            return step
        if not self.record or self.inner is None:
            raise ModelError(f"{self.path}: transcript has no more '{kind}' steps; record a longer one")
        step = getattr(self.inner, kind)(ctx)
        with self._lock:
            self._append({"kind": kind, "key": key, "step": step.to_dict()})
        return step

    def plan(self, ctx: PlanContext) -> AgentStep:
        """Answer from the transcript (or the inner model when recording)."""
        return self._step("plan", ctx)

    def react(self, ctx: ReactContext) -> AgentStep:
        """Answer from the transcript (or the inner model when recording)."""
        return self._step("react", ctx)

    def reflect(self, ctx: ReflectContext) -> str:
        """Answer from the transcript (or the inner model when recording)."""
        key = request_key("reflect", ctx)
        with self._lock:
            rec = self._lookup("reflect", key)
        if rec is not None:
            return str(rec.get("text", ""))
        if not self.record or self.inner is None:
            raise ModelError(f"{self.path}: transcript has no more 'reflect' entries")
        text = self.inner.reflect(ctx)
        with self._lock:
            self._append({"kind": "reflect", "key": key, "text": text})
        return text
