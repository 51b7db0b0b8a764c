"""``cargogym demo`` — the main job, end to end on the built-in corpus (no Docker, no GPU).

Stages (choose with ``--set stages=[...]``):

1. ``synthesize``: new tasks from the tree-sitter bug synthesiser, validated by cargo, plus a
   per-family sample of the shipped built-in task set → ``RUN/tasks.jsonl``.
2. ``rollouts``: Ray rollouts of the scripted oracle (multi-role env), the noop baseline and the
   tiny GPT-OSS MoE → ``RUN/<policy>/trajectories.jsonl``.
   ``data``: scripted-teacher episodes → Harmony SFT samples, DPO pairs, the training mix → ``RUN/data/``.
3. ``malt``: generator → verifier → refiner trees with value iteration → ``RUN/malt/trees.jsonl``.
4. ``learn``: GRPO updates of the tiny GPT-OSS on real cargo rewards → ``RUN/learn/curve.{json,png}``.
5. ``eval``: metrics, plots, report.md and promotion gates for each run, oracle vs noop compared;
   the learn stage's curve is reported under its own label (it is a different model from the
   ``tiny-gpt-oss`` rollout run, so it is not attached to that run).

Review tasks drawn from the built-in set are balanced by label (half buggy, half clean), so both
review_bug_catch_rate and review_false_alarm_rate are measured.

A stage that fails is reported in the summary table and the job goes on; the exit status is 1
when any stage failed.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console()


@dataclass
class SynthSection:
    crates: str = "codec,semver"
    per_crate: int = 3
    families: list = field(default_factory=lambda: ["single_bug", "multi_bug"])


@dataclass
class TinySection:
    tasks: int = 2
    max_steps: int = 3
    max_new_tokens: int = 48


@dataclass
class MaltSection:
    tasks: int = 2
    branching: int = 2
    policy: str = "malt-scripted"


@dataclass
class LearnSection:
    n_tasks: int = 4
    k: int = 4
    group: int | None = None          # None: the learning run's tuned default
    time_budget_s: float = 300.0
    target: float = 0.9


@dataclass
class DataSection:
    tasks: int = 6            # demo tasks the scripted teacher plays (multi_bug ones also as pairs)
    variants: list = field(default_factory=lambda: ["solo", "multi_role", "delegate", "solo_partial"])


@dataclass
class DemoConfig:
    out: str | None = None
    workers: int = 2
    seed: int = 0
    stages: list = field(default_factory=lambda: ["synthesize", "rollouts", "data", "malt", "learn", "eval"])
    synthesize: SynthSection = field(default_factory=SynthSection)
    per_family: dict = field(default_factory=lambda: {"single_bug": 3, "multi_bug": 3, "implement": 2,
                                                      "review": 4, "compile_error": 2})
    oracle_env: str = "MultiRoleRust-v0"
    tiny: TinySection = field(default_factory=TinySection)
    data: DataSection = field(default_factory=DataSection)
    malt: MaltSection = field(default_factory=MaltSection)
    learn: LearnSection = field(default_factory=LearnSection)


@dataclass
class StageResult:
    name: str
    status: str = "skipped"       # ok | failed | skipped
    seconds: float = 0.0
    summary: str = ""
    outputs: list = field(default_factory=list)


class Demo:
    def __init__(self, cfg: DemoConfig):
        self.cfg = cfg
        self.run_dir = Path(cfg.out or f"runs/{time.strftime('%Y%m%d-%H%M%S')}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.results: list[StageResult] = []
        self.tasks: list[Any] = []
        self.eval_rows: list[tuple[str, str, str, str]] = []
        self.learn_curve: dict[str, Any] | None = None

    # -- stage runner ----------------------------------------------------------------------------
    def stage(self, name: str, fn: Callable[[StageResult], None]) -> None:
        res = StageResult(name)
        self.results.append(res)
        if name not in self.cfg.stages:
            res.summary = "not selected"
            return
        console.rule(f"[bold]{name}")
        start = time.time()
        try:
            fn(res)
            res.status = "ok"
        except ImportError as e:
            res.status, res.summary = "failed", f"not available: {e}"
        except Exception as e:  # noqa: BLE001 — the demo reports and goes on
            res.status, res.summary = "failed", f"{type(e).__name__}: {e}"
            (self.run_dir / f"{name}.error.txt").write_text(traceback.format_exc())
        res.seconds = time.time() - start
        colour = "green" if res.status == "ok" else "red"
        console.print(f"[{colour}]{name}: {res.status}[/{colour}] ({res.seconds:.0f}s) {res.summary}")

    # -- 1. tasks --------------------------------------------------------------------------------
    def synthesize(self, res: StageResult) -> None:
        from cargogym.rollouts.config import select_tasks
        from cargogym.tasks.generate import generate_to_file, load_taskgen_config
        from cargogym.tasks.record import write_tasks

        s = self.cfg.synthesize
        gen_cfg = load_taskgen_config(None, [f"crates={s.crates}", f"per_crate={s.per_crate}",
                                             f"families={json.dumps(s.families)}", f"seed={self.cfg.seed}",
                                             f"workers={self.cfg.workers}"])
        synth, summary = generate_to_file(gen_cfg, self.run_dir / "synthesized_tasks.jsonl")
        picked = pick_per_family(select_tasks(None), self.cfg.per_family)
        seen = set()
        self.tasks = [t for t in synth + picked if not (t.instance_id in seen or seen.add(t.instance_id))]
        write_tasks(self.run_dir / "tasks.jsonl", self.tasks)
        fams: dict[str, int] = {}
        for t in self.tasks:
            fams[t.family] = fams.get(t.family, 0) + 1
        res.summary = (f"{len(synth)} synthesized + {len(picked)} built-in → {len(self.tasks)} tasks "
                       + ", ".join(f"{k} {v}" for k, v in sorted(fams.items())))
        res.outputs.append(str(self.run_dir / "tasks.jsonl"))

    def _ensure_tasks(self) -> list[Any]:
        if not self.tasks:
            from cargogym.rollouts.config import select_tasks

            self.tasks = pick_per_family(select_tasks(None), self.cfg.per_family)
        return self.tasks

    # -- 2. rollouts -------------------------------------------------------------------------------
    def rollouts(self, res: StageResult) -> None:
        from cargogym.policies.base import Sampling
        from cargogym.rollouts.progress import rollout_progress
        from cargogym.rollouts.runner import run_rollouts

        tasks = self._ensure_tasks()
        parts = []
        plans = [("oracle", "oracle", self.cfg.oracle_env, tasks, {}, 200),
                 ("noop", "noop", "RustRepo-v0", tasks, {}, 200)]
        tiny_tasks = [t for t in tasks if t.family == "single_bug"][: self.cfg.tiny.tasks] or tasks[: self.cfg.tiny.tasks]
        plans.append(("tiny-gpt-oss", "tiny-gpt-oss", "RustRepo-v0", tiny_tasks,
                      {"max_steps": self.cfg.tiny.max_steps}, self.cfg.tiny.max_steps))
        for label, policy, env_id, ts, env_kwargs, max_steps in plans:
            with rollout_progress(len(ts), f"{label} on {env_id}", console=console) as on_episode:
                r = run_rollouts(ts, policy, self.run_dir / label, workers=self.cfg.workers, env_id=env_id,
                                 env_kwargs=env_kwargs, max_steps=max_steps, base_seed=self.cfg.seed,
                                 sampling=Sampling(max_new_tokens=self.cfg.tiny.max_new_tokens, seed=self.cfg.seed),
                                 on_episode=on_episode)
            parts.append(f"{label}: {r.written} ep, reward {r.mean_reward:.2f}, resolved {r.resolved_rate:.0%}")
            res.outputs.append(str(self.run_dir / label / "trajectories.jsonl"))
        res.summary = "; ".join(parts)

    # -- 3. training data --------------------------------------------------------------------------
    def data(self, res: StageResult) -> None:
        from cargogym.datagen.config import DataConfig
        from cargogym.datagen.mix import build_mix
        from cargogym.datagen.pairs import build_pairs
        from cargogym.datagen.run import generate
        from cargogym.datagen.samples import read_jsonl, write_jsonl

        tasks = [t for t in self._ensure_tasks() if t.family != "review"]
        tasks = sorted(tasks, key=lambda t: t.family != "multi_bug")[: self.cfg.data.tasks]
        out = self.run_dir / "data"
        cfg = DataConfig(variants=list(self.cfg.data.variants), workers=self.cfg.workers, seed=self.cfg.seed,
                         validate=True)
        summary = generate(tasks, cfg, out)
        records = read_jsonl(out / "episodes.jsonl")
        pairs, _ = build_pairs(records)
        write_jsonl(out / "dpo_pairs.jsonl", pairs)
        mixed, mix_summary = build_mix(read_jsonl(out / "samples.jsonl"))
        write_jsonl(out / "mix.jsonl", mixed)
        res.summary = (f"{summary['episodes']} teacher episodes ({summary['episodes_per_min']}/min), "
                       f"{summary['samples']} Harmony samples (all parse back), {len(pairs)} DPO pairs, "
                       f"mix of {len(mixed)}")
        res.outputs += [str(out / "samples.jsonl"), str(out / "dpo_pairs.jsonl"), str(out / "mix.jsonl")]

    # -- 4. MALT -----------------------------------------------------------------------------------
    def malt(self, res: StageResult) -> None:
        from cargogym.training.malt import MaltConfig, MaltSampler
        from cargogym.training.trees import assign_values, write_trees

        tasks = [t for t in self._ensure_tasks() if t.family in ("single_bug", "multi_bug")][: self.cfg.malt.tasks]
        mcfg = MaltConfig(branching=self.cfg.malt.branching, policy=self.cfg.malt.policy,
                          workers=self.cfg.workers, seed=self.cfg.seed)
        with MaltSampler(mcfg) as sampler:
            trees = sampler.sample(tasks)
        out = self.run_dir / "malt" / "trees.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        write_trees(out, trees)
        values = assign_values(trees)
        n_nodes = sum(len(t["nodes"]) for t in trees)
        res.summary = f"{len(trees)} trees, {n_nodes} nodes, root values " + ", ".join(
            f"{v:.2f}" for v in _root_values(values, trees))
        res.outputs.append(str(out))

    # -- 4. learning -------------------------------------------------------------------------------
    def learn(self, res: StageResult) -> None:
        from cargogym.training.learn import LearnConfig, learn

        lc = self.cfg.learn
        kw = {"group": lc.group} if lc.group else {}
        cfg = LearnConfig(n_tasks=lc.n_tasks, k=lc.k, time_budget_s=lc.time_budget_s, target=lc.target,
                          workers=self.cfg.workers, seed=self.cfg.seed, out=str(self.run_dir / "learn"), **kw)
        result = learn(cfg, on_iteration=lambda it: console.print(
            f"  iteration {it.get('iteration')}: mean reward {it.get('mean_reward', 0):.2f}"))
        curve = [p.get("mean_reward", 0.0) for p in result.get("curve", [])]
        res.summary = (f"{len(curve)} GRPO iterations, mean reward {curve[0]:.2f} → {curve[-1]:.2f}"
                       + (" (target reached)" if result.get("reached") else "")) if curve else "no iterations"
        # The curve stays in learn/ (it is the learn stage's own model, not the tiny-gpt-oss rollout
        # run); the eval stage reports it under its own label.
        res.outputs.append(str(self.run_dir / "learn"))

    # -- 5. evaluation -----------------------------------------------------------------------------
    def evaluate(self, res: StageResult) -> None:
        from cargogym.eval.compare import write_comparison
        from cargogym.eval.gates import all_passed, check_stage, load_stages
        from cargogym.eval.report import analyze, write_report
        from cargogym.eval.runs import load_run
        from cargogym.eval.settings import load_eval_config

        cfg = load_eval_config("eval", [])
        stages = load_stages(cfg.gates_file)
        analyses = {}
        for label in ("oracle", "noop", "tiny-gpt-oss"):
            path = self.run_dir / label
            if not (path / "trajectories.jsonl").exists():
                continue
            a = analyze(load_run(path), cfg, stages)
            analyses[label] = a
            written = write_report(a, path / "eval")
            res.outputs.append(str(written[0]))
            gate_results = check_stage(stages["grpo_to_production_multiagent"], a.results)
            passed = all_passed(gate_results)
            self.eval_rows.append((label, _fmt(a.results.get("cargo_test_pass_rate")),
                                   _fmt(a.results.get("mean_reward")), "PASS" if passed else "FAIL"))
        if "oracle" in analyses and "noop" in analyses:
            dest = self.run_dir / "oracle" / "eval" / "compare_vs_noop"
            write_comparison(analyses["oracle"], analyses["noop"], dest)
            res.outputs.append(str(dest))
        res.summary = "; ".join(f"{r[0]}: gates {r[3]}" for r in self.eval_rows)
        self.learn_curve = learn_curve_summary(self.run_dir / "learn")
        if self.learn_curve is not None:
            lc = self.learn_curve
            res.summary += (f"; {LEARN_CURVE_LABEL}: mean reward {lc['first_mean_reward']:.2f} → "
                            f"{lc['last_mean_reward']:.2f} over {lc['points']} iterations")

    # -- all ---------------------------------------------------------------------------------------
    def run(self) -> int:
        console.print(f"[bold]cargogym demo[/bold] → {self.run_dir}")
        self.stage("synthesize", self.synthesize)
        self.stage("rollouts", self.rollouts)
        self.stage("data", self.data)
        self.stage("malt", self.malt)
        self.stage("learn", self.learn)
        self.stage("eval", self.evaluate)
        self.print_summary()
        return 0 if all(r.status != "failed" for r in self.results) else 1

    def print_summary(self) -> None:
        table = Table(title=f"cargogym demo — results in {self.run_dir}")
        for col in ("stage", "status", "time", "summary"):
            table.add_column(col)
        for r in self.results:
            colour = {"ok": "green", "failed": "red"}.get(r.status, "yellow")
            table.add_row(r.name, f"[{colour}]{r.status}[/{colour}]", f"{r.seconds:.0f}s", r.summary)
        console.print(table)
        if self.eval_rows:
            t2 = Table(title="evaluation (gates: grpo_to_production_multiagent)")
            for col in ("run", "cargo_test_pass_rate", "mean reward", "gates"):
                t2.add_column(col)
            for row in self.eval_rows:
                t2.add_row(*row)
            console.print(t2)
        if self.learn_curve is not None:
            lc = self.learn_curve
            console.print(f"{LEARN_CURVE_LABEL} ({lc['source']}, plot learn/curve.png): mean reward "
                          f"{lc['first_mean_reward']:.3f} → {lc['last_mean_reward']:.3f} "
                          f"(best {lc['best_mean_reward']:.3f}) over {lc['points']} iterations")
        summary = {"run_dir": str(self.run_dir), "config": asdict(self.cfg),
                   "stages": [asdict(r) for r in self.results],
                   "evaluation": [dict(zip(("run", "cargo_test_pass_rate", "mean_reward", "gates"), r))
                                  for r in self.eval_rows],
                   "learning_curve": self.learn_curve}
        (self.run_dir / "demo_summary.json").write_text(json.dumps(summary, indent=2, default=str))
        console.print(f"results: {self.run_dir}/ (demo_summary.json, */trajectories.jsonl, */eval/report.md, "
                      f"malt/trees.jsonl, learn/curve.png)")


LEARN_CURVE_LABEL = ("learning curve of the learn stage (its own tiny GPT-OSS, GRPO on the choose-a-patch "
                     "format; not the tiny-gpt-oss rollout run)")


def pick_per_family(tasks: list[Any], per_family: dict[str, Any]) -> list[Any]:
    """The first ``n`` tasks of each family in ``per_family`` (task order kept). Review tasks are
    balanced by label: ``ceil(n/2)`` buggy and ``floor(n/2)`` clean, topped up from the other
    label when one runs short, so both review metrics can be measured."""
    picked: list[Any] = []
    for family, n in per_family.items():
        n = int(n)
        pool = [t for t in tasks if t.family == family]
        if n > 0 and not pool:
            from cargogym.errors import CargogymError

            raise CargogymError(f"per_family: no built-in task of family {family!r}")
        if family != "review":
            picked += pool[:n]
            continue
        by_label = {lab: [t for t in pool if (t.review or {}).get("label") == lab] for lab in ("buggy", "clean")}
        want = {"buggy": (n + 1) // 2, "clean": n // 2}
        for lab, other in (("buggy", "clean"), ("clean", "buggy")):
            spare = len(by_label[other]) - want[other]
            if len(by_label[lab]) < want[lab] and spare > 0:
                moved = min(spare, want[lab] - len(by_label[lab]))
                want[lab] -= moved
                want[other] += moved
        chosen = {id(t) for lab in ("buggy", "clean") for t in by_label[lab][: want[lab]]}
        picked += [t for t in pool if id(t) in chosen]
    return picked


def learn_curve_summary(learn_dir: Path) -> dict[str, Any] | None:
    """The learn stage's curve (``learning_curve.json``, else ``**/curve.json`` under ``learn_dir``)
    summarised for the demo report, or None when there is none."""
    from cargogym.eval.runs import find_learning_curves, parse_learning_curve

    if not learn_dir.is_dir():
        return None
    for path in find_learning_curves(learn_dir):
        try:
            lc = parse_learning_curve(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        return {"label": LEARN_CURVE_LABEL, "source": str(path.relative_to(learn_dir.parent)),
                "points": len(lc.steps), "first_mean_reward": lc.mean_reward[0],
                "last_mean_reward": lc.mean_reward[-1], "best_mean_reward": max(lc.mean_reward)}
    return None


def _fmt(m: Any) -> str:
    v = getattr(m, "value", None)
    return "not measured" if v is None else f"{v:.3f}"


def _root_values(values: Any, trees: list[dict[str, Any]]) -> list[float]:
    """V of each tree's root (the task's value under the policy)."""
    return [float(values.values[int(off)]) for off in values.offsets]


def demo(
    config: str = typer.Option("demo", "--config", "-c", help="YAML under configs/ or a path"),
    out: Optional[str] = typer.Option(None, help="run directory (default runs/<timestamp>)"),
    override: list[str] = typer.Option([], "--set", "--override", "-o", help="config override key=value (repeatable)"),
) -> None:
    """The main job: tasks → Ray rollouts → MALT → GRPO → evaluation and gates."""
    from cargogym.config import load_config
    from cargogym.errors import require_cargo

    require_cargo()
    overrides = list(override) + ([f"out={out}"] if out else [])
    cfg = load_config(DemoConfig, config, overrides)
    code = Demo(cfg).run()
    if code:
        raise typer.Exit(code=code)
