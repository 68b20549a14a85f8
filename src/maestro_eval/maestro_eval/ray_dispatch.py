"""Dispatch evaluation chains to a Ray cluster: one isolated sim + stack per Ray task, results gathered locally.

Each Ray task runs one chain (see :func:`maestro_eval.runner.group_chains`) in a fresh temporary work folder with its
own stack on ``ROS_DOMAIN_ID = BASE_DOMAIN + slot`` (LOCALHOST discovery); the driver hands out at most ``workers``
slots at a time, so two tasks that run at once never share a domain. A task returns, per trial, the result row, the
chain's reflection history and the trace folder as tar bytes; the driver writes them into the same results folder
(CSV + JSON + ``trials/``) as a local run, so the run stays resumable.

``--ray local`` starts a private Ray instance bound to 127.0.0.1 only (no dashboard); ``--ray ADDRESS`` joins a running
cluster whose nodes have this workspace installed and sourced at the same path.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maestro_eval.results import ResultsStore
from maestro_eval.runner import BASE_DOMAIN, Gatherer, group_chains, pack_folder
from maestro_eval.suite import TrialSpec
from maestro_eval.worker import EvalWorker, RunSettings

ChainFn = Callable[[list[TrialSpec], str, int, RunSettings], list[dict[str, Any]]]


def run_chain(specs: list[TrialSpec], history: str, slot: int, settings: RunSettings,
              worker_factory: Callable[..., Any] = EvalWorker) -> list[dict[str, Any]]:
    """Run one chain on a fresh worker (stack in domain ``BASE_DOMAIN + slot``) in a temporary folder.

    Returns one payload per trial: ``{"trial_id", "row", "history", "trace_tar", "log"}``. History is carried from
    trial to trial inside the chain (an evolution chain), starting from ``history``.
    """
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    payloads = []
    with tempfile.TemporaryDirectory(prefix="maestro-eval-ray-") as tmp:
        work = Path(tmp)
        log = work / "logs" / f"slot{slot}.log"
        worker = worker_factory(BASE_DOMAIN + slot, work / "work", settings, log)
        try:
            for spec in specs:
                outcome = worker.run(spec, history if spec.index > 0 and not spec.control else "")
                history = outcome.history
                payloads.append({"trial_id": spec.trial_id, "row": outcome.row, "history": outcome.history,
                                 "trace_tar": pack_folder(outcome.trace)})
        finally:
            worker.close()
        logs = sorted(log.parent.glob("*.log")) if log.parent.is_dir() else []
        text = "".join(p.read_text(errors="replace")[-200_000:] for p in logs)
        for p in payloads:
            p["log"] = text
    return payloads


def ray_listeners() -> list[str]:
    """Listening TCP sockets of Ray processes (``ss -ltnpH`` lines); empty when ``ss`` is unavailable."""
    try:
        out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in out.splitlines() if any(k in line for k in ('"raylet"', '"gcs_server"', '"ray::'))]


def non_loopback(listeners: list[str]) -> list[str]:
    """The listener lines whose local address is not 127.0.0.1 / ::1."""
    bad = []
    for line in listeners:
        local = line.split()[3]
        host = local.rsplit(":", 1)[0].strip("[]")
        if host not in ("127.0.0.1", "::ffff:127.0.0.1", "::1", "localhost"):
            bad.append(line)
    return bad


def init_ray(address: str, workers: int) -> Any:
    """Start (``local``) or join (an address) Ray; a local instance binds 127.0.0.1 only and has no dashboard.

    Raises ``RuntimeError`` (after shutting Ray down) if a local instance listens on a non-loopback address.
    """
    if address == "local":
        # With this switch Ray treats the node as cluster-less: its node IP is the loopback address and every Ray
        # server binds 127.0.0.1. It is read when ray is imported and inherited by the raylet, GCS and workers.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    if ray.is_initialized():
        return ray
    if address == "local":
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False  # ray was imported before the switch above was set
        for attempt in range(3):  # Ray gives its raylet a fixed 30 s to register: not always enough on a loaded CPU
            try:
                ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1",
                         num_cpus=max(1, workers), object_store_memory=200 * 1024 * 1024, log_to_driver=False,
                         configure_logging=False)
                break
            except Exception as exc:  # Ray raises a bare Exception for the start-up timeout
                ray.shutdown()
                if attempt == 2 or "timed out during startup" not in str(exc):
                    raise RuntimeError(f"could not start a local Ray instance: {exc}") from exc
                print(f"[eval] local Ray did not start in time (attempt {attempt + 1}/3), retrying", flush=True)
        bad = non_loopback(ray_listeners())
        if bad:
            ray.shutdown()
            raise RuntimeError("the local Ray instance listens beyond loopback: " + "; ".join(bad))
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return ray


def run_trials_ray(specs: list[TrialSpec], store: ResultsStore, address: str, workers: int = 1,
                   settings: RunSettings | None = None, on_row: Callable[[dict[str, Any]], None] | None = None,
                   chain_fn: ChainFn | None = None, shutdown: bool = True) -> list[dict[str, Any]]:
    """Run every unfinished trial of ``specs`` as Ray tasks (at most ``workers`` at once); return the new rows."""
    settings = settings or RunSettings()
    gatherer = Gatherer(store, on_row)
    pending = group_chains(specs, store.finished_ids())
    if not pending:
        return []
    ray = init_ray(address, workers)
    remote = ray.remote(num_cpus=1, max_retries=1)(chain_fn or run_chain)
    free = list(range(max(1, workers)))
    running: dict[Any, tuple[int, list[TrialSpec]]] = {}
    log_dir = store.root / "logs"
    log_dir.mkdir(exist_ok=True)
    try:
        while pending or running:
            while pending and free:
                chain, slot = pending.pop(0), free.pop(0)
                ref = remote.remote(chain, gatherer.history_for(chain[0]), slot, settings)
                running[ref] = (slot, chain)
            ready, _ = ray.wait(list(running), num_returns=1)
            slot, chain = running.pop(ready[0])
            free.append(slot)
            try:
                payloads = ray.get(ready[0])
            except Exception as exc:  # a lost node or a crashed task: report, record nothing (a re-run retries)
                print(f"[eval] ray task for {chain[0].trial_id} (+{len(chain) - 1}) failed: {exc!r}", flush=True)
                continue
            by_id = {s.trial_id: s for s in chain}
            for p in payloads:
                if p.get("log"):
                    (log_dir / f"ray-{p['trial_id']}.log").write_text(p["log"])
                gatherer.record(by_id[p["trial_id"]], p["row"], p["history"], trace_tar=p["trace_tar"])
    finally:
        if shutdown:
            ray.shutdown()
    return gatherer.rows
