"""libtest JSON parsing per binary, with the anti-spoofing cross-checks, and real cargo runs."""

from __future__ import annotations

import json

import pytest

from cargogym.rewards.libtest import (binary_from_stream, parse_build_messages, parse_logfile,
                                      parse_stream, qualify, render, run_tests)
from cargogym.sandbox.exec import ExecResult


def ev(**kw) -> str:
    return json.dumps(kw)


def stream(tests: dict[str, str], summary: bool = True, count: int | None = None, extra: list[str] = ()) -> str:
    lines = [ev(type="suite", event="started", test_count=len(tests) if count is None else count)]
    for n, s in tests.items():
        lines.append(ev(type="test", event="started", name=n))
        if s == "failed":
            lines.append(ev(type="test", name=n, event="failed", stdout="thread 'x' panicked at src/a.rs:1:1:\nboom\nnote: run with `RUST_BACKTRACE=1`"))
        else:
            lines.append(ev(type="test", name=n, event={"passed": "ok"}.get(s, s)))
    lines += list(extra)
    if summary:
        c = {k: sum(v == k for v in tests.values()) for k in ("passed", "failed", "ignored")}
        lines.append(ev(type="suite", event="failed" if c["failed"] else "ok", measured=0, filtered_out=0, **c))
    return "\n".join(lines) + "\n"


def result(stdout: str, code: int | None) -> ExecResult:
    return ExecResult(code, stdout, "", code is None, 0.1, False)


def test_qualified_names():
    assert qualify("lib", "x", "a::tests::t") == "lib::a::tests::t"
    assert qualify("test", "api", "t") == "test:api::t"
    assert qualify("bin", "cli", "t") == "bin:cli::t"
    assert qualify("doc", "doc", "src/lib.rs - f (line 3)") == "doc::src/lib.rs - f (line 3)"


def test_honest_stream_parses_with_failure_excerpt():
    s = parse_stream(stream({"a::t1": "passed", "a::t2": "failed", "a::t3": "ignored"}))
    assert s.problems == [] and s.reached_summary
    assert s.tests == {"a::t1": "passed", "a::t2": "failed", "a::t3": "ignored"}
    assert s.failures["a::t2"] == "thread 'x' panicked at src/a.rs:1:1:\nboom"
    b = binary_from_stream("lib", "crate", "/x", result(stream({"a::t1": "passed", "a::t2": "failed"}), 101))
    assert b.valid and b.tests == {"lib::a::t1": "passed", "lib::a::t2": "failed"}


def test_all_pass_with_nonzero_exit_is_invalid():
    b = binary_from_stream("lib", "c", "/x", result(stream({"t": "passed"}), 101))
    assert not b.valid and "exited with status 101" in b.problems[0]


def test_missing_summary_is_invalid_and_unfinished_test_fails():
    text = stream({"t1": "passed"}, summary=False, count=2) + ev(type="test", event="started", name="t2") + "\n"
    b = binary_from_stream("test", "api", "/x", result(text, 0))
    assert not b.valid and not b.reached_summary
    assert b.tests == {"test:api::t1": "passed", "test:api::t2": "failed"}
    assert any("before its test summary" in p for p in b.problems)


def test_fake_result_lines_are_detected():
    # library code printing JSON events of its own: a duplicate result and a summary mismatch
    fake = [ev(type="test", name="t2", event="ok"), "test t2 ... ok"]
    s = parse_stream(stream({"t1": "passed", "t2": "failed"}, extra=fake))
    assert any("reported twice" in p for p in s.problems)
    # a complete forged stream, then exit(0): the log file libtest kept disagrees
    forged = stream({"t1": "passed", "t2": "passed"})
    b = binary_from_stream("lib", "c", "/x", result(forged, 0), logfile_text="ok t1 <0.000s>\n")
    assert not b.valid and "log file disagrees" in " ".join(b.problems)
    honest = binary_from_stream("lib", "c", "/x", result(forged, 0), logfile_text="ok t1 <0.001s>\nok t2\n")
    assert honest.valid


def test_logfile_parsing_handles_ignore_messages():
    text = "ignored: slow one m::ign\nok m::ok <0.000s>\nfailed m::bad <0.201s>\n"
    assert parse_logfile(text, {"m::ign", "m::ok", "m::bad"}) == {"m::ign": "ignored", "m::ok": "passed", "m::bad": "failed"}


def test_summary_count_mismatch_and_second_suite_are_problems():
    text = stream({"t1": "passed"}).replace('"passed": 1', '"passed": 3')
    assert any("summary says 3 passed" in p for p in parse_stream(text).problems)
    two = stream({"t1": "passed"}) + stream({"t1": "passed"})
    assert parse_stream(two).problems


def test_build_messages_name_executables_by_target():
    msgs = [
        {"reason": "compiler-artifact", "target": {"kind": ["lib"], "name": "c", "doctest": True}, "profile": {"test": False},
         "executable": None, "manifest_path": "/w/Cargo.toml", "package_id": "path+file:///w#c@0.1.0"},
        {"reason": "compiler-artifact", "target": {"kind": ["lib"], "name": "c"}, "profile": {"test": True},
         "executable": "/w/target/debug/deps/c-1", "manifest_path": "/w/Cargo.toml", "package_id": "path+file:///w#c@0.1.0"},
        {"reason": "compiler-artifact", "target": {"kind": ["test"], "name": "api"}, "profile": {"test": True},
         "executable": "/w/target/debug/deps/api-2", "manifest_path": "/w/Cargo.toml", "package_id": "x"},
        {"reason": "compiler-message", "message": {"level": "error", "rendered": "error[E0308]: mismatched types"}},
    ]
    info = parse_build_messages("\n".join(json.dumps(m) for m in msgs))
    assert [(e.kind, e.name) for e in info.executables] == [("lib", "c"), ("test", "api")]
    assert info.doctest_lib and info.errors == ["error[E0308]: mismatched types"] and info.package_root == "/w"


@pytest.mark.skipif(__import__("shutil").which("cargo") is None, reason="cargo not on PATH")
def test_real_run_per_binary(sb_workspaces, sb_minicrate_task, sb_local):
    ws = sb_workspaces.create(sb_minicrate_task)
    try:
        run = run_tests(sb_local, ws.path)
        assert run.valid and run.build_ok, run.problems
        assert [b.target for b in run.binaries] == ["lib", "test:api"]
        assert all(b.reached_summary and b.exit_code == 101 for b in run.binaries)
        assert run.tests["test:api::add_and_clamp"] == "failed" and run.tests["test:api::text_roundtrip"] == "passed"
        assert "left: -1" in run.failures["lib::math::tests::adds_small_numbers"]
        assert run.exec.exit_code == 101 and "FAILED" in render(run)
        filtered = run_tests(sb_local, ws.path, test_filter="clamps")
        assert filtered.valid and set(filtered.tests) == {"lib::math::tests::clamps_below", "lib::math::tests::clamps_above"}
        ws.write_text("src/math.rs", ws.read_text("src/math.rs").replace("a - b", "a +"))
        broken = run_tests(sb_local, ws.path)
        assert not broken.build_ok and not broken.valid and broken.tests == {}
        assert any("error" in e for e in broken.build_errors) and "failed to compile" in render(broken)
    finally:
        ws.close()
