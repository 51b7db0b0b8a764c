"""Harmony render/parse speed: cargogym's cached renderer vs openai-harmony's conversation render.

Rows (medians): render of a 30-turn RL conversation (cold cache, warm after one new turn, library),
parse of a tool-call completion (text, ids), training render. Writes benchmarks/results/harmony.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from cargogym.benchmarks.common import median_time, print_table, write_results


def _conversation(turns: int) -> tuple[list[dict], list[dict]]:
    from cargogym.envs.tools import TOOL_SPECS

    tools = [{"name": n, **spec} for n, spec in TOOL_SPECS.items()]
    body = "\n".join(f"    let x{i} = compute({i}, \"value {i}\"); // ünïcode ✓" for i in range(60))
    msgs = [{"role": "user", "content": "Fix the failing tests in the crate.\n" + body[:1500]}]
    for t in range(turns):
        msgs += [
            {"role": "assistant", "channel": "analysis", "content": f"Step {t}: read the next file. " * 8},
            {"role": "assistant", "channel": "commentary", "recipient": "functions.read_file",
             "content_type": "json", "content": json.dumps({"path": f"src/m{t}.rs"})},
            {"role": "tool", "name": "functions.read_file", "content": body},
        ]
    return msgs, tools


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--turns", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)

    from openai_harmony import Role

    from cargogym.harmony import render
    from cargogym.harmony.parse import parse_completion

    msgs, tools = _conversation(args.turns)
    render.get_encoding()
    conv = render.to_conversation(msgs, tools, "You are the coder.")
    lib_ms, _ = median_time(lambda: render.get_encoding().render_conversation_for_completion(conv, Role.ASSISTANT),
                            args.repeats)

    def cold():
        render._render_cached.cache_clear()
        render.render_prompt(msgs, tools, "You are the coder.")

    cold_ms, _ = median_time(cold, args.repeats)
    warm_times = []
    for _ in range(args.repeats):  # the RL case: all but the newest turn already rendered
        render._render_cached.cache_clear()
        render.render_prompt(msgs[:-3], tools, "You are the coder.")
        t0 = time.perf_counter()
        render.render_prompt(msgs, tools, "You are the coder.")
        warm_times.append(time.perf_counter() - t0)
    warm_ms = statistics.median(warm_times)
    train_ms, _ = median_time(lambda: render.render_training(msgs, tools, "You are the coder."), args.repeats)
    call = ("<|channel|>analysis<|message|>Patch the sign.<|end|><|start|>assistant<|channel|>commentary "
            "to=functions.apply_patch <|constrain|>json<|message|>"
            + json.dumps({"diff": "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a - b\n+a + b\n"})
            + "<|call|>")
    ids = render.encode(call)
    parse_text_ms, _ = median_time(lambda: parse_completion(call), args.repeats * 10)
    parse_ids_ms, _ = median_time(lambda: parse_completion(ids), args.repeats * 10)
    n_tokens = len(render.render_prompt(msgs, tools, "You are the coder."))
    rows = [
        {"operation": "library render_conversation_for_completion", "tokens": n_tokens, "median_ms": lib_ms * 1e3},
        {"operation": "render_prompt (cold cache)", "tokens": n_tokens, "median_ms": cold_ms * 1e3},
        {"operation": "render_prompt (warm, +1 turn)", "tokens": n_tokens, "median_ms": warm_ms * 1e3},
        {"operation": "render_training (warm)", "tokens": n_tokens, "median_ms": train_ms * 1e3},
        {"operation": "parse_completion (text)", "tokens": len(ids), "median_ms": parse_text_ms * 1e3},
        {"operation": "parse_completion (ids)", "tokens": len(ids), "median_ms": parse_ids_ms * 1e3},
    ]
    print_table("Harmony render / parse", rows)
    extra = {"speedup_warm_vs_library": lib_ms / warm_ms if warm_ms else None}
    path = write_results("harmony", rows, extra)
    print(f"wrote {path}")
    return {"rows": rows, **extra}


if __name__ == "__main__":  # pragma: no cover
    main()
