"""cargo-graded rewards as TRL reward functions: ``fn(prompts, completions, **kwargs) -> list[float]``.

Two ways in, both usable as ``GRPOTrainer(reward_funcs=...)``:

- :func:`make_cargo_reward` grades each completion for real: the patch is taken from the
  completion (a Harmony ``apply_patch`` tool call, a ```` ```diff ```` block, a
  ``*** Begin Patch`` block, or a bare unified diff), applied to a fresh workspace of the row's
  task (dataset column ``task``: a record dict / JSON string, or ``instance_id`` looked up in
  ``tasks``), graded by cargo and scored by the reward spec. Completions are graded in parallel
  threads (cargo runs in subprocesses).
- :func:`make_report_reward` scores stored grading reports (a ``grading`` column, e.g. returned by
  a ``rollout_func``) without running cargo; :func:`term_reward_funcs` gives one function per
  term so TRL logs each term (pass the spec's weights as ``reward_weights``).
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from cargogym.rewards.spec import RewardSpec
from cargogym.rewards.terms import REWARD_TERMS, as_report_dict
from cargogym.tasks.record import Task

RewardFn = Callable[..., list[float]]


def completion_text(completion: Any) -> str:
    """Text of a TRL completion: a string, or a list of message dicts (conversational)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "\n".join(str(m.get("content", "")) if isinstance(m, dict) else str(m) for m in completion)
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    return str(completion)


_TOOL_CALL = re.compile(r"to=functions\.apply_patch.*?<\|message\|>(.*?)(?:<\|call\|>|<\|end\|>|$)", re.S)


def extract_patch(text: str) -> str | None:
    """The patch an agent's completion proposes (see module docstring), or None."""
    for m in _TOOL_CALL.finditer(text):
        body = m.group(1).strip()
        try:
            args = json.loads(body)
        except json.JSONDecodeError:
            continue
        if isinstance(args, dict):
            for key in ("diff", "patch", "input"):
                if isinstance(args.get(key), str) and args[key].strip():
                    return args[key]
    if "*** Begin Patch" in text:
        start = text.index("*** Begin Patch")
        end = text.find("*** End Patch", start)
        return text[start:end + len("*** End Patch")] if end >= 0 else text[start:]
    fenced = re.findall(r"```(?:diff|patch)?\s*\n(.*?)```", text, re.S)
    for block in fenced:
        if "@@" in block and ("--- " in block or "+++ " in block):
            return block
    idx = text.find("diff --git ")
    if idx < 0:
        idx = text.find("--- ")
    if idx >= 0 and "@@" in text[idx:]:
        return text[idx:]
    return None


def _task_of(row: dict[str, Any], tasks: dict[str, Task]) -> Task:
    t = row.get("task")
    if isinstance(t, Task):
        return t
    if isinstance(t, str) and t.strip().startswith("{"):
        return Task.from_dict(json.loads(t))
    if isinstance(t, dict):
        return Task.from_dict(t)
    iid = row.get("instance_id") or (t if isinstance(t, str) else None)
    if iid and iid in tasks:
        return tasks[iid]
    raise KeyError(f"no task for row (give a 'task' column or an 'instance_id' known to the reward): {iid!r}")


class CargoReward:
    """Callable TRL reward: grade each completion's patch with cargo, score with a spec."""

    def __init__(self, spec: RewardSpec | str = "default", tasks: list[Task] | dict[str, Task] | str | None = None,
                 sandbox: str = "local", workers: int = 2, clippy: bool = False,
                 no_patch_reward: float | None = None) -> None:
        from cargogym.sandbox.exec import make_sandbox
        from cargogym.sandbox.workspace import WorkspaceManager

        self.spec = RewardSpec.coerce(spec)
        if isinstance(tasks, str):
            from cargogym.tasks.record import read_tasks

            tasks = read_tasks(tasks)
        if isinstance(tasks, list):
            tasks = {t.instance_id: t for t in tasks}
        self.tasks: dict[str, Task] = dict(tasks or {})
        self.sandbox = make_sandbox(sandbox)
        self.manager = WorkspaceManager(sandbox=self.sandbox if sandbox == "local" else None)
        self.workers = max(1, workers)
        self.clippy = clippy
        self.no_patch_reward = no_patch_reward
        self.__name__ = f"cargo_{self.spec.name}"
        self.last_reports: list[dict | None] = []
        self._lock = threading.Lock()

    def grade_one(self, completion: Any, row: dict[str, Any]) -> tuple[float, dict | None]:
        from cargogym.rewards.grading import grade
        from cargogym.sandbox.patch import PatchError

        task = _task_of(row, self.tasks)
        text = completion_text(completion)
        patch = extract_patch(text)
        if task.family != "review" and patch is None:
            if self.no_patch_reward is not None:
                return self.no_patch_reward, None
        ws = self.manager.create(task)
        try:
            if patch is not None and task.family != "review":
                try:
                    ws.apply_patch(patch)
                except PatchError:
                    pass  # graded as-is: the broken state
            verdict = text.split("<|channel|>final<|message|>")[-1] if task.family == "review" else None
            report = grade(task, ws, self.sandbox, review_verdict=verdict, clippy=self.clippy).to_dict()
        finally:
            ws.close()
        return self.spec.compute(report, None)[0], report

    def __call__(self, prompts: list[Any] | None = None, completions: list[Any] | None = None, **kwargs: Any) -> list[float]:
        completions = list(completions or [])
        n = len(completions)
        rows = [{k: (v[i] if isinstance(v, (list, tuple)) and len(v) == n else v) for k, v in kwargs.items()}
                for i in range(n)]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            results = list(pool.map(lambda a: self.grade_one(*a), zip(completions, rows)))
        with self._lock:
            self.last_reports = [r for _, r in results]
        return [float(r) for r, _ in results]

    def close(self) -> None:
        self.manager.close()
        self.sandbox.close()


def make_cargo_reward(spec: RewardSpec | str = "default", tasks=None, **kwargs: Any) -> CargoReward:
    """A TRL reward function that grades completions with cargo (see :class:`CargoReward`)."""
    return CargoReward(spec, tasks, **kwargs)


def _reports(kwargs: dict[str, Any], n: int) -> list[dict | None]:
    col = kwargs.get("grading")
    if col is None:
        raise KeyError("no 'grading' column: make_report_reward needs stored grading reports "
                       "(use make_cargo_reward to grade completions with cargo)")
    if not isinstance(col, (list, tuple)):
        col = [col] * n
    out = []
    for r in col:
        if isinstance(r, str):
            r = json.loads(r) if r.strip() else None
        out.append(as_report_dict(r))
    return out


def make_report_reward(spec: RewardSpec | str = "default", role: str | None = None) -> RewardFn:
    """A TRL reward function over stored reports (column ``grading``; optional ``trajectory``)."""
    s = RewardSpec.coerce(spec)

    def reward(prompts=None, completions=None, **kwargs: Any) -> list[float]:
        n = len(completions or kwargs.get("grading") or [])
        reps = _reports(kwargs, n)
        trajs = kwargs.get("trajectory") or [None] * len(reps)
        return [float(s.compute(r, t, role=role)[0]) for r, t in zip(reps, trajs)]

    reward.__name__ = f"report_{s.name}"
    return reward


def term_reward_funcs(spec: RewardSpec | str = "default") -> tuple[list[RewardFn], list[float]]:
    """One unweighted TRL reward function per term of ``spec`` and the matching weights
    (``GRPOConfig(reward_weights=weights)``)."""
    s = RewardSpec.coerce(spec)
    funcs: list[RewardFn] = []
    for name in s.terms:
        term = REWARD_TERMS[name]

        def fn(prompts=None, completions=None, _term=term, **kwargs: Any) -> list[float]:
            n = len(completions or kwargs.get("grading") or [])
            reps = _reports(kwargs, n)
            trajs = kwargs.get("trajectory") or [None] * len(reps)
            return [float(_term(r, t)) for r, t in zip(reps, trajs)]

        fn.__name__ = name
        funcs.append(fn)
    return funcs, list(s.terms.values())
