"""TEMPORARY stand-ins for cargogym.sandbox.workspace, cargogym.rewards.grading and
cargogym.rewards.spec while those modules are being written. Used only when importing the real
module fails; delete once they have landed."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class Workspace:
    def __init__(self, path: Path, task: Any) -> None:
        self.path, self.task = path, task

    def read_text(self, rel: str) -> str:
        return (self.path / rel).read_text(encoding="utf-8")

    def write_text(self, rel: str, text: str) -> None:
        (self.path / rel).write_text(text, encoding="utf-8")

    def list_files(self, rel: str = ".") -> list[str]:
        base = self.path / rel
        return sorted(p.relative_to(self.path).as_posix() for p in base.rglob("*")
                      if p.is_file() and "target" not in p.relative_to(self.path).parts)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class WorkspaceManager:
    def __init__(self, root: Path | None = None, mode: str = "auto") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cargogym-interim-ws-"))

    def create(self, task: Any) -> Workspace:
        from cargogym.sandbox.patch import apply_patch
        from cargogym.tasks.corpus import crate_path

        dest = Path(tempfile.mkdtemp(dir=self.root))
        shutil.copytree(crate_path(task.crate), dest / "crate", ignore=shutil.ignore_patterns("target"))
        if task.setup_patch:
            apply_patch(dest / "crate", task.setup_patch)
        return Workspace(dest / "crate", task)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class GradingReport:
    instance_id: str
    resolution: str
    resolved: bool
    compile_ok: bool
    f2p_passed: int
    f2p_total: int
    p2p_passed: int
    p2p_total: int
    tests: dict[str, str] = field(default_factory=dict)
    clippy_available: bool = False
    clippy_warnings: int | None = None
    valid: bool = True
    problems: list[str] = field(default_factory=list)
    review_verdict: str | None = None
    review_correct: bool | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def grade(task: Any, workspace: Workspace, sandbox: Any, review_verdict: str | None = None) -> GradingReport:
    from cargogym.sandbox.cargo import run_cargo_tests

    if task.family == "review":
        label = (task.review or {}).get("label")
        want = "REQUEST_CHANGES" if label == "buggy" else "APPROVE"
        ok = review_verdict == want
        return GradingReport(task.instance_id, "FULL" if ok else "NO", ok, True, 0, 0, 0, 0,
                             review_verdict=review_verdict, review_correct=ok if review_verdict else False)
    run = run_cargo_tests(sandbox, workspace.path)
    t = run.tests
    f2p = sum(t.get(n) == "passed" for n in task.FAIL_TO_PASS)
    p2p = sum(t.get(n) == "passed" for n in task.PASS_TO_PASS)
    full_p2p = p2p == len(task.PASS_TO_PASS)
    res = "FULL" if f2p == len(task.FAIL_TO_PASS) and full_p2p else ("PARTIAL" if f2p and full_p2p else "NO")
    return GradingReport(task.instance_id, res, res == "FULL", bool(getattr(run, "build_ok", True)), f2p,
                         len(task.FAIL_TO_PASS), p2p, len(task.PASS_TO_PASS), tests=dict(t), valid=run.valid)


class RewardSpec:
    @classmethod
    def load(cls, name: str) -> "RewardSpec":
        return cls()

    def compute(self, report: Any, trajectory: dict | None = None, role: str | None = None) -> tuple[float, dict]:
        d = report if isinstance(report, dict) else report.to_dict()
        r = 1.0 if d["resolved"] else 0.0
        return r, {"resolved": r}

    def step_reward(self, turn: dict) -> float:
        return 0.0
