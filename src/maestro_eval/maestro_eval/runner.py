"""Run trials on local worker threads: each worker owns one stack in its own ROS domain.

Trials are grouped into *chains*: a self-evolution run's successive trials of one task and method form one chain that
runs in order on one worker (trial i sees the reflections of trials 0..i-1); every other trial is a chain of one and
sees no reflection. A hung or crashed trial is cancelled, timed out and recorded as such, its stack is restarted, and
the run goes on. Finished trials are skipped on a re-run; an interrupted chain resumes after its last finished trial
with the reflections saved so far. The same chains are dispatched to Ray by :mod:`maestro_eval.ray_dispatch`.
"""
from __future__ import annotations

import io
import json
import os
import queue
import re
import shutil
import tarfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from maestro_eval.results import ResultsStore
from maestro_eval.suite import TrialSpec
from maestro_eval.worker import EvalWorker, RunSettings, TrialOutcome, finish_row

BASE_DOMAIN = int(os.environ.get("MAESTRO_EVAL_BASE_DOMAIN", "60"))  # worker i uses ROS_DOMAIN_ID = BASE_DOMAIN + i


class Worker(Protocol):
    """What the runner needs of a worker (an :class:`EvalWorker`, or a fake in tests)."""

    def run(self, spec: TrialSpec, history: str = "") -> TrialOutcome: ...

    def close(self) -> None: ...


WorkerFactory = Callable[[int, Path, RunSettings, Path], Worker]


def chain_key(spec: TrialSpec) -> str:
    """Name of the chain a trial belongs to (task, scene and method; not the evolution index)."""
    raw = f"{spec.task}__{spec.perturbation}-{spec.seed}__{spec.method.name}{'__control' if spec.control else ''}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw)


def group_chains(specs: list[TrialSpec], finished: set[str]) -> list[list[TrialSpec]]:
    """Unfinished trials grouped into chains (evolution index order), in the order the chains first appear."""
    chains: dict[str, list[TrialSpec]] = defaultdict(list)
    for spec in specs:
        chains[chain_key(spec)].append(spec)
    out = []
    for items in chains.values():
        todo = [s for s in sorted(items, key=lambda s: s.index) if s.trial_id not in finished]
        if todo:
            out.append(todo)
    return out


def pack_folder(folder: Path | None) -> bytes:
    """A trial folder as gzip'd tar bytes (empty bytes for no folder), to ship it from a remote Ray node."""
    if folder is None or not Path(folder).is_dir():
        return b""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(str(folder), arcname=".")
    return buf.getvalue()


def unpack_folder(data: bytes, dest: Path) -> Path | None:
    """Extract :func:`pack_folder` bytes into ``dest`` (safe paths only); ``None`` for empty bytes."""
    if not data:
        return None
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
    return dest


class Gatherer:
    """Puts finished trials into the results folder: row, trace folder, chain history (thread-safe)."""

    def __init__(self, store: ResultsStore, on_row: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.store = store
        self.on_row = on_row
        self.rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        (store.root / "history").mkdir(exist_ok=True)

    def history_path(self, spec: TrialSpec) -> Path:
        """The chain's reflection history file in the results folder."""
        return self.store.root / "history" / f"{chain_key(spec)}.jsonl"

    def history_for(self, spec: TrialSpec) -> str:
        """Reflections trial ``spec`` may see: its chain's so far for an evolution trial (index > 0), else none
        (and none for a control chain)."""
        path = self.history_path(spec)
        return path.read_text() if spec.index > 0 and not spec.control and path.is_file() else ""

    def trace_dest(self, spec: TrialSpec) -> Path:
        """Where the trial's trace folder goes: ``trials/<trial_id>/trace``."""
        return self.store.trial_dir(spec.trial_id) / "trace"

    def record(self, spec: TrialSpec, row: dict[str, Any], history: str = "", trace: Path | None = None,
               trace_tar: bytes = b"") -> dict[str, Any]:
        """Move/unpack the trace into the results folder, save the chain history and append the row."""
        dest = self.trace_dest(spec)
        if dest.exists():
            shutil.rmtree(dest)  # left by an interrupted attempt of the same trial
        moved: Path | None = None
        if trace is not None and Path(trace).is_dir():
            moved = Path(shutil.move(str(trace), str(dest)))
        elif trace_tar:
            moved = unpack_folder(trace_tar, dest)
        row = finish_row(row, moved)
        with self._lock:
            path = self.history_path(spec)
            before = self.history_for(spec)
            new_lines = [line for line in history[len(before):].splitlines() if line.strip()] \
                if history.startswith(before) else []
            if new_lines:  # this trial's own reflection, kept with its row for the report
                try:
                    row["reflection"] = str(json.loads(new_lines[-1]).get("reflection", ""))[:4000]
                except (json.JSONDecodeError, AttributeError):
                    row["reflection"] = new_lines[-1][:4000]
            if history and spec.control:  # keep every reflection of a control chain (none is handed on)
                with open(path, "a") as f:
                    f.write(history if history.endswith("\n") else history + "\n")
            elif history:
                path.write_text(history)
            self.store.add(row)
            self.rows.append(row)
        if self.on_row:
            self.on_row(row)
        return row


def run_trials(specs: list[TrialSpec], store: ResultsStore, workers: int = 1, max_substeps: int = 8,
               trial_timeout: float = 600.0, substep_timeout: float = 120.0, stack_overrides: list[str] | None = None,
               on_row: Callable[[dict[str, Any]], None] | None = None,
               worker_factory: WorkerFactory | None = None) -> list[dict[str, Any]]:
    """Run every unfinished trial of ``specs`` on ``workers`` parallel stacks; return the new rows."""
    settings = RunSettings(max_substeps, trial_timeout, substep_timeout, list(stack_overrides or []))
    factory: WorkerFactory = worker_factory or EvalWorker
    gatherer = Gatherer(store, on_row)
    todo: queue.Queue[list[TrialSpec]] = queue.Queue()
    for chain in group_chains(specs, store.finished_ids()):
        todo.put(chain)

    started: list[Worker] = []
    stop = threading.Event()

    def work(index: int) -> None:
        worker = factory(BASE_DOMAIN + index, store.root / "work" / f"worker{index}", settings,
                         store.root / "logs" / f"worker{index}.log")
        started.append(worker)
        try:
            while True:
                try:
                    chain = todo.get_nowait()
                except queue.Empty:
                    return
                for spec in chain:
                    if stop.is_set():
                        return
                    outcome = worker.run(spec, gatherer.history_for(spec))
                    gatherer.record(spec, outcome.row, outcome.history, trace=outcome.trace)
        finally:
            worker.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(max(1, workers))]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(timeout=1.0)
    except BaseException:  # Ctrl-C: stop every stack before leaving (the threads are daemons)
        stop.set()
        for w in list(started):
            w.close()
        raise
    return gatherer.rows


def default_results_dir() -> Path:
    """``runs/eval-<timestamp>``."""
    return Path("runs") / time.strftime("eval-%Y%m%d-%H%M%S")
