"""The results folder of a run: one JSON line per finished trial, a CSV and a summary; resumable."""
from __future__ import annotations

import csv
import json
import threading
from pathlib import Path
from typing import Any

CSV_FIELDS = ["trial_id", "embodiment", "task", "perturbation", "seed", "index", "method", "model", "tools", "harness",
              "status", "progress", "success", "wall_time_s", "sim_time_s", "substeps", "model_calls",
              "input_tokens", "output_tokens", "tool_calls", "tool_errors", "tool_counts", "tool_error_counts",
              "verdict", "error", "trace_dir",
              "instruction"]


class ResultsStore:
    """Append-only store under ``root``: ``results.jsonl`` (source of truth), ``results.csv`` and ``trials/``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "trials").mkdir(exist_ok=True)
        self._jsonl = self.root / "results.jsonl"
        self._lock = threading.Lock()

    def load(self) -> list[dict[str, Any]]:
        """Every recorded trial (a truncated last line from a crash is skipped)."""
        if not self._jsonl.is_file():
            return []
        rows = []
        for line in self._jsonl.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def finished_ids(self) -> set[str]:
        """Trial ids already recorded (skipped by a re-run)."""
        return {r["trial_id"] for r in self.load() if "trial_id" in r}

    def trial_dir(self, trial_id: str) -> Path:
        """Folder for the trial's own files."""
        path = self.root / "trials" / trial_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add(self, row: dict[str, Any]) -> None:
        """Record one finished trial (flushed immediately) and refresh the CSV."""
        with self._lock:
            with open(self._jsonl, "a") as f:
                f.write(json.dumps(row, default=str) + "\n")
                f.flush()
            self.write_csv()

    def write_csv(self) -> Path:
        """Rewrite ``results.csv`` from the JSON lines."""
        path = self.root / "results.csv"
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for row in self.load():
                writer.writerow(row)
        return path

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Write ``run.json`` (the command, the machine, the settings)."""
        (self.root / "run.json").write_text(json.dumps(meta, indent=2, default=str))
