"""Chains, history hand-over, trace gathering and resuming, for worker threads and Ray (with a fake trial worker)."""
import json
import sys
from pathlib import Path

import pytest

from maestro_eval.ray_dispatch import non_loopback, ray_listeners, run_chain, run_trials_ray
from maestro_eval.report import write_report
from maestro_eval.results import ResultsStore
from maestro_eval.runner import BASE_DOMAIN, Gatherer, chain_key, group_chains, run_trials
from maestro_eval.suite import Method, TrialSpec, build_trials
from maestro_eval.worker import RunSettings, TrialOutcome


class FakeWorker:
    """Stands in for a stack: writes a trace folder, appends a reflection, and scores by the history it was given."""

    def __init__(self, domain_id: int, work_dir: Path, settings: RunSettings, log_path: Path) -> None:
        self.domain_id, self.work_dir, self.log_path = domain_id, Path(work_dir), Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_text(f"fake stack on domain {domain_id}\n")

    def run(self, spec: TrialSpec, history: str = "") -> TrialOutcome:
        seen = [json.loads(line)["reflection"] for line in history.splitlines() if line.strip()]
        trace = self.work_dir / "traces" / spec.trial_id
        trace.mkdir(parents=True)
        (trace / "trace.jsonl").write_text(json.dumps({"type": "tool_call", "substep": 0, "name": "grasp",
                                                       "error_code": 0}) + "\n")
        history += json.dumps({"reflection": f"after trial {spec.index}"}) + "\n"
        row = {**spec.to_dict(), "trial_id": spec.trial_id, "status": "done", "progress": 25.0 * len(seen),
               "success": False, "seen": seen, "domain": self.domain_id, "trace_dir": str(trace)}
        return TrialOutcome(row, history, trace)

    def close(self) -> None:
        """Nothing to stop."""


def _specs() -> list[TrialSpec]:
    evolve = build_trials("tabletop", ["open_cabinet"], "base", [Method()], evolve=3)
    single = build_trials("tabletop", ["put_ball_in_bowl"], "base+1", [Method()])
    return evolve + single


def test_non_loopback_listener_lines() -> None:
    lines = ['LISTEN 0 128 127.0.0.1:38639 0.0.0.0:* users:(("ray::RuntimeEnv",pid=1,fd=27))',
             'LISTEN 0 4096 [::ffff:127.0.0.1]:37297 *:* users:(("raylet",pid=2,fd=40))',
             'LISTEN 0 4096 *:33149 *:* users:(("gcs_server",pid=3,fd=44))',
             'LISTEN 0 128 192.0.2.2:38993 0.0.0.0:* users:(("ray::RuntimeEnv",pid=4,fd=27))']
    assert non_loopback(lines) == lines[2:]


def test_group_chains_keeps_evolution_order_and_skips_finished() -> None:
    specs = _specs()
    chains = group_chains(list(reversed(specs)), set())
    evolution = [c for c in chains if c[0].task == "open_cabinet"]
    assert len(chains) == 3 and [s.index for s in evolution[0]] == [0, 1, 2]
    resumed = group_chains(specs, {specs[0].trial_id, specs[3].trial_id})
    assert [[s.trial_id for s in c] for c in resumed] == [[specs[1].trial_id, specs[2].trial_id], [specs[4].trial_id]]


def _check_results(root: Path, rows: list[dict]) -> None:
    by_index = {r["index"]: r for r in rows if r["task"] == "open_cabinet"}
    assert [by_index[i]["seen"] for i in range(3)] == [[], ["after trial 0"], ["after trial 0", "after trial 1"]]
    assert all(r["seen"] == [] for r in rows if r["task"] == "put_ball_in_bowl")  # no leak between trials
    for r in rows:
        trace = root / "trials" / r["trial_id"] / "trace"
        assert (trace / "trace.jsonl").is_file() and Path(r["trace_dir"]) == trace.resolve()
        assert r["tool_counts"] == "grasp:1" and r["tools"] == "S3" and r["tool_calls"] == 1
        assert r["reflection"] == f"after trial {r['index']}"
    history = next((root / "history").glob("open_cabinet__*.jsonl")).read_text().splitlines()
    assert len(history) == 3
    csv_text = (root / "results.csv").read_text()
    assert csv_text.count("\n") == len(rows) + 1


def test_threads_hand_history_along_a_chain_and_resume(tmp_path: Path) -> None:
    specs = _specs()
    store = ResultsStore(tmp_path)
    first = run_trials(specs[:2], store, workers=2, worker_factory=FakeWorker)  # interrupted after trial 1
    assert len(first) == 2
    rest = run_trials(specs, store, workers=2, worker_factory=FakeWorker)
    assert {r["trial_id"] for r in rest} == {s.trial_id for s in specs[2:]}
    rows = store.load()
    _check_results(tmp_path, rows)
    assert {r["domain"] for r in rows} <= {BASE_DOMAIN, BASE_DOMAIN + 1}
    assert run_trials(specs, store, workers=2, worker_factory=FakeWorker) == []


def test_control_chain_repeats_trials_without_reflections(tmp_path: Path) -> None:
    specs = build_trials("tabletop", ["open_cabinet"], "pose-0", [Method()], evolve=3, control=True)
    assert len(specs) == 6 and len({s.trial_id for s in specs}) == 6
    assert len(group_chains(specs, set())) == 2
    store = ResultsStore(tmp_path)
    rows = run_trials(specs, store, workers=2, worker_factory=FakeWorker)
    control = sorted((r for r in rows if r["control"]), key=lambda r: r["index"])
    learning = sorted((r for r in rows if not r["control"]), key=lambda r: r["index"])
    assert [r["seen"] for r in control] == [[], [], []]
    assert [len(r["seen"]) for r in learning] == [0, 1, 2]
    assert len(next((tmp_path / "history").glob("*__control.jsonl")).read_text().splitlines()) == 3
    assert "(control: no reflections)" in write_report(tmp_path).read_text()


def test_ray_payloads_are_gathered_into_the_results_folder(tmp_path: Path) -> None:
    specs = build_trials("tabletop", ["open_cabinet"], "base", [Method()], evolve=3)
    payloads = run_chain(specs, "", 1, RunSettings(), worker_factory=FakeWorker)
    assert [len(p["trace_tar"]) > 0 for p in payloads] == [True] * 3 and "fake stack" in payloads[0]["log"]
    assert payloads[2]["row"]["seen"] == ["after trial 0", "after trial 1"]
    gatherer = Gatherer(ResultsStore(tmp_path / "results"))
    for spec, p in zip(specs, payloads, strict=True):
        gatherer.record(spec, p["row"], p["history"], trace_tar=p["trace_tar"])
    row = ResultsStore(tmp_path / "results").load()[2]
    assert (Path(row["trace_dir"]) / "trace.jsonl").is_file() and row["tool_counts"] == "grasp:1"
    assert len((tmp_path / "results" / "history" / f"{chain_key(specs[0])}.jsonl").read_text().splitlines()) == 3


def fake_chain(specs: list[TrialSpec], history: str, slot: int, settings: RunSettings) -> list[dict]:
    """The Ray task body with the fake worker (pickled by value into the Ray workers)."""
    return run_chain(specs, history, slot, settings, worker_factory=FakeWorker)


@pytest.mark.slow
def test_local_ray_instance_runs_chains_on_loopback_only(tmp_path: Path) -> None:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    store = ResultsStore(tmp_path)
    listeners: list[str] = []

    def on_row(row: dict) -> None:
        if not listeners:
            listeners.extend(ray_listeners())

    rows = run_trials_ray(_specs(), store, "local", workers=2, chain_fn=fake_chain, on_row=on_row)
    assert len(rows) == 5
    _check_results(tmp_path, store.load())
    assert listeners, "no Ray listener seen while the instance ran"
    assert not non_loopback(listeners), listeners
    assert {r["domain"] for r in rows} <= {BASE_DOMAIN, BASE_DOMAIN + 1}
    assert run_trials_ray(_specs(), store, "local", workers=2, chain_fn=fake_chain) == []
