"""Which trials a benchmark run contains: suites, tasks, perturbation trials and methods (tool level x harness)."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from maestro_common.profiles import load_profile

SUITES: dict[str, tuple[str, ...]] = {"tabletop": ("franka",), "mobile": ("go2w_piper",), "all": ("franka", "go2w_piper")}
PERTURBATION_AXES: tuple[str, ...] = ("visual", "pose", "verb", "new_object")
TRIALS_PER_AXIS = 5
TOOL_LEVELS: dict[str, str] = {
    "S0": "cameras + robot motion only (base code-as-policy agent)",
    "S1": "S0 + perception",
    "S2": "S1 + grasp planning and motion planning",
    "S3": "S2 + 3D geometry (all tools)",
}


@dataclass(frozen=True)
class Method:
    """An agent configuration: model backend, tool level and harness switch."""

    model: str = "offline"
    tools: str = "S3"
    harness: bool = True

    @property
    def name(self) -> str:
        """Short name used in tables, e.g. ``offline/S3/harness``."""
        return f"{self.model or 'default'}/{self.tools}/{'harness' if self.harness else 'atomic'}"


@dataclass(frozen=True)
class TrialSpec:
    """One trial: a task scene (task, perturbation, seed) run with a method; ``index`` orders evolution runs."""

    embodiment: str
    task: str
    perturbation: str
    seed: int
    method: Method
    index: int = 0
    control: bool = False  # an evolution control chain: the same repeated trials, without reflections

    @property
    def trial_id(self) -> str:
        """Stable identifier used for resuming and folder names."""
        m = self.method
        return (f"{self.task}__{self.perturbation}-{self.seed}__{m.model or 'default'}-{m.tools}-"
                f"{'h' if m.harness else 'a'}__{self.index}{'__ctl' if self.control else ''}"
                ).replace("/", "_").replace(":", "_")

    def to_dict(self) -> dict:
        """Plain dict for JSON/CSV."""
        d = asdict(self)
        d["method"] = self.method.name
        d["model"], d["tools"], d["harness"] = self.method.model, self.method.tools, self.method.harness
        return d


def perturbed_trials(n: int) -> list[tuple[str, int]]:
    """``n`` perturbed (axis, seed) pairs taken round-robin over the four axes: visual 0, pose 0, verb 0, ..."""
    return [(PERTURBATION_AXES[i % len(PERTURBATION_AXES)], i // len(PERTURBATION_AXES)) for i in range(n)]


def parse_trials(text: str) -> list[tuple[str, int]]:
    """Parse ``--trials``: ``base``, ``base+N`` (base and N perturbed), ``all`` (base + 5 per axis), ``pose`` (5 pose
    scenes), one scene ``pose-2``, or a comma-separated list of these (``base,pose-0``)."""
    text = text.strip()
    if "," in text:
        out: list[tuple[str, int]] = []
        for part in text.split(","):
            out.extend(t for t in parse_trials(part) if t not in out)
        return out
    if text == "base":
        return [("base", 0)]
    if text == "all":
        return [("base", 0)] + [(a, s) for a in PERTURBATION_AXES for s in range(TRIALS_PER_AXIS)]
    if text in PERTURBATION_AXES:
        return [(text, s) for s in range(TRIALS_PER_AXIS)]
    match = re.fullmatch(r"base\+(\d+)", text)
    if match:
        return [("base", 0)] + perturbed_trials(int(match.group(1)))
    match = re.fullmatch(r"(base|" + "|".join(PERTURBATION_AXES) + r")-(\d+)", text)
    if match:
        return [(match.group(1), int(match.group(2)))]
    raise ValueError(f"--trials must be 'base', 'base+N', 'all', an axis of {list(PERTURBATION_AXES)}, one scene "
                     f"'AXIS-SEED' or a comma-separated list of these; got '{text}'")


def suite_tasks(suite: str) -> list[tuple[str, str]]:
    """(embodiment, task) pairs of a suite, from the embodiment profiles."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite '{suite}'; choose from {sorted(SUITES)}")
    return [(emb, task) for emb in SUITES[suite] for task in load_profile(emb).get("tasks", [])]


def build_trials(suite: str, tasks: list[str] | None, trials: str | None, methods: list[Method],
                 evolve: int = 0, control: bool = False) -> list[TrialSpec]:
    """Every trial of a run. ``evolve > 0`` runs each scene of ``trials`` (default: the base scene) ``evolve`` times
    per method, as one chain of successive trials (``control``: plus a twin chain that sees no reflections);
    otherwise ``trials`` defaults to ``base+5``."""
    pairs = suite_tasks(suite)
    if tasks:
        known = {t for _, t in pairs}
        unknown = [t for t in tasks if t not in known]
        if unknown:
            raise ValueError(f"tasks {unknown} are not in suite '{suite}' (tasks: {sorted(known)})")
        pairs = [(e, t) for e, t in pairs if t in tasks]
    if evolve < 0:
        raise ValueError(f"--evolve must be >= 0; got {evolve}")
    scenes = parse_trials(trials or ("base" if evolve else "base+5"))
    out: list[TrialSpec] = []
    for emb, task in pairs:
        for method in methods:
            for axis, seed in scenes:
                if evolve:
                    out.extend(TrialSpec(emb, task, axis, seed, method, i) for i in range(evolve))
                    if control:
                        out.extend(TrialSpec(emb, task, axis, seed, method, i, True) for i in range(evolve))
                else:
                    out.append(TrialSpec(emb, task, axis, seed, method))
    return out
