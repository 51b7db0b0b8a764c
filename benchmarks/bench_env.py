"""Env step overhead vs raw cargo: what RustRepoEnv adds on top of the work it wraps.

Rows (medians of interleaved runs, raw and env side by side in one process on one workspace):
run_tests (``run_cargo_tests`` vs ``env.step(run_tests)``), cargo_check, apply_patch (a fix and its
reverse), reset (``WorkspaceManager.create`` + close vs ``env.reset``), and pure env steps with no
cargo (read_file as a dict action and as a raw Harmony completion). Task: the first single_bug of
``tasks/builtin_tasks.jsonl`` when present, else a hand-made ledger task. Writes
benchmarks/results/env.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any, Callable

from cargogym.benchmarks.common import print_table, write_results


def _task():
    from cargogym.envs.rust_repo import DEFAULT_TASKS
    from cargogym.tasks.record import read_tasks

    if DEFAULT_TASKS.is_file():
        for t in read_tasks(DEFAULT_TASKS):
            if t.family == "single_bug":
                return t, "builtin_tasks.jsonl"
    from cargogym.envs.handmade import TestLabeler, ledger_suite

    labeler = TestLabeler()
    try:
        return ledger_suite(labeler)["single_bug"], "handmade ledger"
    finally:
        labeler.close()


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _pair(name: str, raw: Callable[[], Any], env: Callable[[], Any], repeats: int) -> dict[str, Any]:
    raw(), env()  # warm-up
    r, e = [], []
    for _ in range(repeats):
        r.append(_timed(raw))
        e.append(_timed(env))
    rm, em = statistics.median(r), statistics.median(e)
    return {"operation": name, "raw_ms": rm * 1e3, "env_ms": em * 1e3, "overhead_ms": (em - rm) * 1e3,
            "ratio": em / rm if rm else float("nan")}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)

    import gymnasium

    import cargogym.envs  # noqa: F401
    from cargogym.sandbox.cargo import run_cargo_check, run_cargo_tests
    from cargogym.sandbox.patch import apply_patch

    task, source = _task()
    env = gymnasium.make("cargogym/RustRepo-v0", task=task, max_steps=10**6, token_budget=0, step_shaping=False)
    u = env.unwrapped
    env.reset(seed=0)
    ws, sandbox, manager = u.workspace, u._get_sandbox(), u._workspace_manager()
    rows = []
    rows.append(_pair("run_tests", lambda: run_cargo_tests(sandbox, ws.path, timeout=300),
                      lambda: env.step({"tool": "run_tests", "arguments": {}}), args.repeats))
    rows.append(_pair("cargo_check", lambda: run_cargo_check(sandbox, ws.path, timeout=300),
                      lambda: env.step({"tool": "cargo_check", "arguments": {}}), args.repeats))
    from cargogym.sandbox.patch import make_diff

    path = task.files[0]
    broken = ws.read_text(path)
    state = {"fixed": False}

    def raw_patch():
        diff = task.patch if not state["fixed"] else make_diff({path: ws.read_text(path)}, {path: broken})
        apply_patch(ws.path, diff)
        state["fixed"] = not state["fixed"]

    def env_patch():
        diff = task.patch if not state["fixed"] else make_diff({path: ws.read_text(path)}, {path: broken})
        obs, *_ = env.step({"tool": "apply_patch", "arguments": {"diff": diff}})
        assert obs.startswith("patch applied"), obs
        state["fixed"] = not state["fixed"]

    rows.append(_pair("apply_patch", raw_patch, env_patch, args.repeats))

    def raw_reset():
        manager.create(task).close()

    rows.append(_pair("reset", raw_reset, lambda: env.reset(seed=0), args.repeats))
    ws = u.workspace  # reset replaced the workspace
    read = {"tool": "read_file", "arguments": {"path": path, "start": 1, "end": 40}}
    raw_read = ("<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>"
                + json.dumps(read["arguments"]) + "<|call|>")
    rows.append(_pair("read_file (dict vs raw completion)", lambda: env.step(read), lambda: env.step(raw_read),
                      args.repeats * 5))
    rows.append(_pair("read_file (file read vs env step)", lambda: ws.read_text(path), lambda: env.step(read),
                      args.repeats * 5))
    env.close()
    print_table(f"env step overhead ({source}: {task.instance_id})", rows)
    path_out = write_results("env", rows, {"task": task.instance_id, "task_source": source, "repeats": args.repeats})
    print(f"wrote {path_out}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
