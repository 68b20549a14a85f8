"""One evaluation worker: a stack in its own ROS domain plus a private work folder (history + traces).

The agent reads and appends its across-trial reflections in ``<work>/history`` and writes trace folders under
``<work>/traces``. Before each trial the worker writes the history the trial is allowed to see (empty for a benchmark
trial, the chain's earlier reflections for a self-evolution trial); after it, the worker hands back the updated
history and the trial's trace folder. The caller (thread runner or Ray task) moves them into the results folder, so
trials never see each other's reflections unless they belong to the same evolution chain.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maestro_eval.stack import Stack, StackError
from maestro_eval.suite import TrialSpec
from maestro_eval.trace_stats import read_trace_stats
from maestro_eval.trial import TrialRunner


@dataclass
class RunSettings:
    """Per-trial limits and the ``--set`` overrides every stack gets."""

    max_substeps: int = 8
    trial_timeout: float = 600.0
    substep_timeout: float = 120.0
    overrides: list[str] = field(default_factory=list)


@dataclass
class TrialOutcome:
    """What one trial leaves behind: its result row, the history after it and its trace folder (if any)."""

    row: dict[str, Any]
    history: str = ""
    trace: Path | None = None


def history_key(task: str) -> str:
    """File stem the agent's HistoryStore uses for ``task``."""
    from maestro_agent.loop import HistoryStore

    return HistoryStore("").key(task, "")


class EvalWorker:
    """Runs trials one after another on a stack in domain ``domain_id``, restarting the stack after a failure."""

    def __init__(self, domain_id: int, work_dir: Path, settings: RunSettings, log_path: Path) -> None:
        self.domain_id = domain_id
        self.work_dir = Path(work_dir)
        self.settings = settings
        self.log_path = Path(log_path)
        self.history_dir = self.work_dir / "history"
        self.trace_root = self.work_dir / "traces"
        self._stacks: dict[str, Stack] = {}

    def _stack(self, spec: TrialSpec) -> Stack:
        stack = self._stacks.get(spec.embodiment)
        if stack is not None and stack.alive():
            return stack
        self.close()
        overrides = [*self.settings.overrides, f"agent.history_dir={self.history_dir.resolve()}",
                     f"agent.trace_root={self.trace_root.resolve()}"]
        log = self.log_path.with_name(f"{self.log_path.stem}-{spec.embodiment}{self.log_path.suffix}")
        stack = Stack(spec.embodiment, self.domain_id, log, overrides)
        stack.start(task=spec.task)
        self._stacks[spec.embodiment] = stack
        return stack

    def run(self, spec: TrialSpec, history: str = "") -> TrialOutcome:
        """Run one trial that sees ``history`` (JSON lines of earlier reflections); never raises for a failed trial."""
        key = history_key(spec.task)
        if self.history_dir.exists():
            shutil.rmtree(self.history_dir)
        self.history_dir.mkdir(parents=True)
        if history:
            (self.history_dir / f"{key}.jsonl").write_text(history if history.endswith("\n") else history + "\n")
        before = set(self.trace_root.iterdir()) if self.trace_root.is_dir() else set()
        try:
            stack = self._stack(spec)
        except StackError as exc:
            row = {**spec.to_dict(), "trial_id": spec.trial_id, "status": "stack_failed", "error": str(exc),
                   "progress": 0.0, "success": False}
            return TrialOutcome(row, history)
        runner = TrialRunner(stack, self.settings.max_substeps, self.settings.trial_timeout,
                             self.settings.substep_timeout)
        row = runner.run(spec)
        if row["status"] != "done":
            stack.stop()  # a hung/crashed trial gets a fresh stack
            self._stacks.pop(spec.embodiment, None)
        after = set(self.trace_root.iterdir()) if self.trace_root.is_dir() else set()
        trace = Path(row["trace_dir"]) if row.get("trace_dir") else None
        if trace is None or not trace.is_dir():
            new = sorted(after - before)
            trace = new[-1] if new else None
        if trace is not None:
            wait_for_recording(trace)
        hist_file = self.history_dir / f"{key}.jsonl"
        return TrialOutcome(row, hist_file.read_text() if hist_file.is_file() else history, trace)

    def close(self) -> None:
        """Stop every stack of this worker."""
        for stack in self._stacks.values():
            stack.stop()
        self._stacks.clear()


def wait_for_recording(trace: Path, timeout: float = 60.0, quiet_s: float = 8.0) -> bool:
    """Wait until the recorder has finished the trial folder (``recording.json`` written), or nothing in it changed
    for ``quiet_s`` (no recorder running); True when ``recording.json`` is there. The folder is moved afterwards, so
    a recorder still writing its video or bag would lose them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (trace / "recording.json").is_file():
            return True
        try:
            newest = max((p.stat().st_mtime for p in trace.rglob("*")), default=0.0)
        except OSError:  # a file vanished while listing
            newest = time.time()
        if time.time() - newest > quiet_s:
            return False
        time.sleep(0.5)
    return (trace / "recording.json").is_file()


def finish_row(row: dict[str, Any], trace: Path | None) -> dict[str, Any]:
    """Point the row at its trace folder (now inside the results folder) and add the trace statistics."""
    if trace is not None and trace.is_dir():
        row["trace_dir"] = str(trace.resolve())
        stats = read_trace_stats(trace).to_dict()
        stats["tool_counts"] = stats.pop("tools")  # 'tools' is the tool level of the method
        row.update(stats)
    return row
