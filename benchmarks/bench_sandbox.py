"""Sandbox speed: ``reset()`` and the first ``run_tests`` after an edit, next to raw cargo.

Measured side by side in one run, interleaved, medians of ``--repeats``:

- **reset**: ``WorkspaceManager.create(task)`` (+ ``close`` of the previous workspace), what an
  env's ``reset()`` does, on a warmed crate; overlay mode and copy mode. Goal ≤ 0.05 s median.
- **first run_tests after an edit**: a fresh episode workspace, one real code edit (a new public
  function in a source file), then :func:`run_cargo_tests` in the jailed local sandbox, versus
  ``cargo test --offline`` after the same edit in a plain ``cp -a`` copy of the same pre-built
  crate on the same filesystem (same environment, no sandbox). Goal: ratio ≤ 1.10. Also shown: raw cargo with the user's
  default settings (incremental) in its own pre-built copy, and the Docker backend when an engine
  runs. Because the 2-core machine is shared, CPU seconds of the child processes (user+sys,
  insensitive to load) are reported next to wall time, with the median of paired ratios.

``python -m cargogym.benchmarks.bench_sandbox [--crate NAME] [--repeats N] [--resets N]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from cargogym.benchmarks.common import print_table, write_results

GOAL_RESET_S = 0.05
GOAL_RATIO = 1.10


def _task(crate: str):
    from cargogym.tasks.corpus import builtin_crates
    from cargogym.tasks.record import Task

    crates = builtin_crates()
    if crate not in crates:
        raise SystemExit(f"unknown crate {crate!r}; built-in: {', '.join(crates)}")
    return Task(instance_id=f"bench-{crate}", repo=f"builtin:{crate}", base_commit="", patch="", test_patch="",
                problem_statement="", FAIL_TO_PASS=[], PASS_TO_PASS=[]), crates[crate]


def _edit_file(root: Path) -> str:
    files = sorted(p.relative_to(root).as_posix() for p in (root / "src").rglob("*.rs") if p.name != "lib.rs")
    return files[0] if files else "src/lib.rs"


def _edit(path: Path, i: int) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"\npub fn cargogym_bench_edit_{i}(x: u64) -> u64 {{\n    x.wrapping_mul({i + 3})\n}}\n")


def _child_cpu() -> float:
    """CPU seconds (user+sys) of waited-for child processes: a load-insensitive cost measure."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _raw_cargo(cwd: Path, env: dict[str, str] | None) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(["cargo", "test", "--offline", "-q"], cwd=cwd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if "test result" not in res.stdout:
        raise RuntimeError(f"raw cargo test failed in {cwd}: {res.stderr[-500:]}")
    return dt


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="bench_sandbox", description=__doc__.splitlines()[0])
    ap.add_argument("--crate", default=None, help="built-in crate (default: the smallest)")
    ap.add_argument("--repeats", type=int, default=11, help="first-run_tests repetitions per variant")
    ap.add_argument("--resets", type=int, default=50, help="reset() repetitions per mode")
    ap.add_argument("--no-docker", action="store_true")
    args = ap.parse_args(argv)

    from cargogym.errors import require_cargo
    from cargogym.sandbox.cargo import run_cargo_tests
    from cargogym.sandbox.exec import base_env, make_sandbox
    from cargogym.sandbox.workspace import WorkspaceManager
    from cargogym.tasks.corpus import builtin_crates

    require_cargo()
    crate = args.crate or min(builtin_crates(), key=lambda n: sum(
        f.stat().st_size for f in builtin_crates()[n].rglob("*.rs")))
    task, src_dir = _task(crate)
    sb = make_sandbox("local")
    managers = {"overlay": None, "copy": None}
    scratch = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))          # user-style copies (disk)
    from cargogym.sandbox.workspace import default_parent

    default_parent().mkdir(parents=True, exist_ok=True)
    same_fs = Path(tempfile.mkdtemp(prefix="bench-raw-", dir=default_parent()))  # next to ours
    rows: list[dict] = []
    results: dict = {"crate": crate, "sandbox": sb.info(), "load_before": os.getloadavg()}
    try:
        t0 = time.perf_counter()
        managers["copy"] = WorkspaceManager(mode="copy", sandbox=sb)
        try:
            managers["overlay"] = WorkspaceManager(mode="overlay", sandbox=sb)
        except Exception as e:  # not root
            results["overlay_unavailable"] = str(e)
        pristine = managers["copy"].pristine(task)  # builds the pristine copy once (cold)
        results["prebuild_s"] = time.perf_counter() - t0
        rel = _edit_file(pristine)

        # -- reset ----------------------------------------------------------------------------
        for mode, m in managers.items():
            if m is None:
                continue
            m.create(task).close()  # warm
            creates, closes, prev = [], [], None
            for _ in range(args.resets if mode == "overlay" else max(5, args.resets // 5)):
                t = time.perf_counter()
                if prev is not None:
                    prev.close()
                t1 = time.perf_counter()
                prev = m.create(task)
                t2 = time.perf_counter()
                closes.append(t1 - t)
                creates.append(t2 - t1)
            prev.close()
            resets = [a + b for a, b in zip(creates, closes)]
            rows.append({"measure": f"reset() ({mode})", "median_s": statistics.median(resets),
                         "detail": f"create {statistics.median(creates) * 1000:.2f} ms + close "
                                   f"{statistics.median(closes) * 1000:.2f} ms", "goal": f"<= {GOAL_RESET_S}"})
        results["reset_overlay_s"] = next((r["median_s"] for r in rows if "overlay" in r["measure"]), None)
        results["reset_copy_s"] = next((r["median_s"] for r in rows if "copy" in r["measure"]), None)

        # -- first run_tests after an edit ----------------------------------------------------
        user_prebuilt = scratch / "user-prebuilt"  # built with the user's own cargo defaults
        shutil.copytree(src_dir, user_prebuilt, ignore=shutil.ignore_patterns("target", "Cargo.lock"))
        subprocess.run(["cargo", "test", "--offline", "--no-run", "-q"], cwd=user_prebuilt, capture_output=True)
        docker_sb = None
        if not args.no_docker:
            try:
                docker_sb = make_sandbox("docker")
            except Exception as e:
                results["docker"] = f"skipped: {e}"
        same_env = base_env()
        m = managers["overlay"] or managers["copy"]
        times: dict[str, list[float]] = {"ours": [], "raw_same_env": [], "raw_user_default": []}
        cpu: dict[str, list[float]] = {k: [] for k in times}
        if docker_sb is not None:
            times["ours_docker"] = []
        for i in range(args.repeats):
            for variant in list(times):
                c0 = _child_cpu()
                if variant.startswith("ours"):
                    ws = m.create(task)
                    _edit(ws.path / rel, i)
                    t = time.perf_counter()
                    run = run_cargo_tests(docker_sb if variant == "ours_docker" else sb, ws.path, timeout=600)
                    times[variant].append(time.perf_counter() - t)
                    ws.close()
                    if not (run.build_ok and run.valid):
                        raise RuntimeError(f"{variant}: run_tests failed: {run.problems[:3]}")
                else:
                    base = pristine if variant == "raw_same_env" else user_prebuilt
                    d = (same_fs if variant == "raw_same_env" else scratch) / f"{variant}-{i}"
                    subprocess.run(["cp", "-a", str(base), str(d)], check=True)
                    _edit(d / rel, i)
                    c0 = _child_cpu()
                    times[variant].append(_raw_cargo(d, same_env if variant == "raw_same_env" else None))
                    shutil.rmtree(d)
                if variant in cpu:
                    cpu[variant].append(_child_cpu() - c0)
        med = {k: statistics.median(v) for k, v in times.items()}
        cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
        ratio = med["ours"] / med["raw_same_env"]
        cpu_ratio = cpu_med["ours"] / cpu_med["raw_same_env"]
        paired = statistics.median(a / b for a, b in zip(times["ours"], times["raw_same_env"]))
        results["cpu_s"] = cpu_med
        results["cpu_ratio_vs_raw_same_env"] = cpu_ratio
        results["paired_wall_ratio_median"] = paired
        rows.append({"measure": "first run_tests after an edit (ours, jailed local)", "median_s": med["ours"],
                     "detail": f"wall ratio {ratio:.3f} (paired {paired:.3f}), CPU ratio {cpu_ratio:.3f} "
                               f"vs raw cargo test", "goal": f"ratio <= {GOAL_RATIO}"})
        rows.append({"measure": "raw cargo test after the same edit (plain cp -a copy, same fs + env)",
                     "median_s": med["raw_same_env"], "detail": "baseline", "goal": ""})
        rows.append({"measure": "raw cargo test, user defaults (incremental, on disk), own pre-built copy",
                     "median_s": med["raw_user_default"],
                     "detail": f"ours/this = {med['ours'] / med['raw_user_default']:.3f}", "goal": ""})
        if "ours_docker" in med:
            rows.append({"measure": "first run_tests after an edit (docker backend)", "median_s": med["ours_docker"],
                         "detail": f"ratio {med['ours_docker'] / med['raw_same_env']:.3f}", "goal": ""})
            docker_sb.close()
        results.update({"first_run_tests": {k: {"median_s": med[k], "runs_s": times[k]} for k in times},
                        "ratio_vs_raw_same_env": ratio,
                        "ratio_vs_raw_user_default": med["ours"] / med["raw_user_default"],
                        "goals_met": {"reset": (results["reset_overlay_s"] or results["reset_copy_s"]) <= GOAL_RESET_S,
                                      "first_run_tests_ratio": ratio <= GOAL_RATIO,
                                      "first_run_tests_cpu_ratio": cpu_ratio <= GOAL_RATIO},
                        "load_after": os.getloadavg(), "edit_file": rel})
    finally:
        for m in managers.values():
            if m is not None:
                m.close()
        sb.close()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(same_fs, ignore_errors=True)
    print_table(f"sandbox benchmark ({crate})", rows)
    md = ["| measure | median (s) | detail | goal |", "|---|---|---|---|"]
    md += [f"| {r['measure']} | {r['median_s']:.4f} | {r['detail']} | {r['goal']} |" for r in rows]
    results["markdown"] = "\n".join(md)
    path = write_results("sandbox", rows, results)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":  # pragma: no cover
    main()
