"""The attack table (issue 4) on a real built-in crate: each attack leaves the grade unaffected,
the observation says what happened, and the machine is unharmed.

The task is made here: a public function of the crate that its tests call gets the body
``todo!()`` (the bug); the tests that then fail are FAIL_TO_PASS, the others PASS_TO_PASS. Each
attack replaces that body with hostile code ending in a diverging expression (so it type-checks
whatever the return type), i.e. it runs inside the test processes, as an agent's code would.
"""

from __future__ import annotations

import shutil
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from cargogym.rewards.grading import grade
from cargogym.rewards.libtest import render
from cargogym.sandbox.cargo import run_cargo_tests
from cargogym.sandbox.patch import PatchError, make_diff
from cargogym.tasks.record import Task

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")
MARK = '{ todo!("cargogym-attack-bug") }'
GRADE_TIMEOUT = 60.0


def _pick_crate() -> tuple[str, Path]:
    try:
        from cargogym.tasks.corpus import builtin_crates

        crates = builtin_crates()
    except ImportError:
        crates = {}
    if "codec" in crates:
        return "builtin:codec", crates["codec"]
    if crates:
        name = min(crates, key=lambda n: sum(f.stat().st_size for f in crates[n].rglob("*.rs")))
        return f"builtin:{name}", crates[name]
    root = Path(__file__).parent / "fixtures" / "minicrate"
    return str(root), root


def _pick_function(root: Path) -> tuple[str, int, int]:
    """(file, body start, body end) of the public top-level function the tests call most."""
    import tree_sitter_rust as tsr
    from tree_sitter import Language, Parser

    parser = Parser(Language(tsr.language()))
    test_text = "\n".join(p.read_text() for p in root.rglob("*.rs") if "target" not in p.parts)
    best = None
    for path in sorted((root / "src").rglob("*.rs")):
        src = path.read_bytes()
        for node in parser.parse(src).root_node.named_children:
            if node.type != "function_item":
                continue
            head = src[node.start_byte:node.child_by_field_name("body").start_byte].decode()
            ret = node.child_by_field_name("return_type")
            if not head.startswith("pub fn ") or (ret is not None and b"impl" in src[ret.start_byte:ret.end_byte]):
                continue
            name = src[node.child_by_field_name("name").start_byte:node.child_by_field_name("name").end_byte].decode()
            uses = test_text.count(f"{name}(")
            body = node.child_by_field_name("body")
            if uses > 1 and (best is None or uses > best[0]):
                best = (uses, path.relative_to(root).as_posix(), body.start_byte, body.end_byte)
    assert best is not None, f"no public function called by the tests of {root}"
    return best[1], best[2], best[3]


@dataclass
class Arena:
    task: Task
    file: str
    broken: str
    pristine: str
    sandbox: object
    manager: object

    def workspace(self, body: str | None = None):
        ws = self.manager.create(self.task)
        if body is not None:
            ws.write_text(self.file, self.broken.replace(MARK, "{ " + body + " }"))
        return ws

    def grade(self, ws, timeout: float = GRADE_TIMEOUT):
        return grade(self.task, ws, self.sandbox, clippy=False, timeout=timeout)

    def run_and_grade(self, body: str):
        """Put ``body`` in the arena function, run the tests in the sandbox, then grade:
        ``(test run, grading report)``; the workspace is closed either way."""
        ws = self.workspace(body)
        try:
            return run_cargo_tests(self.sandbox, ws.path, timeout=GRADE_TIMEOUT), self.grade(ws)
        finally:
            ws.close()

    def unqualified(self) -> list[str]:
        return [n.split("::", 1)[1] for n in self.task.FAIL_TO_PASS + self.task.PASS_TO_PASS]


@pytest.fixture(scope="module")
def arena(sb_local, sb_workspaces):
    repo, root = _pick_crate()
    rel, a, b = _pick_function(root)
    pristine = (root / rel).read_text()
    raw = pristine.encode()
    broken = (raw[:a] + MARK.encode() + raw[b:]).decode()
    base = Task(instance_id="attack-arena", repo=repo, base_commit="", problem_statement="", test_patch="",
                patch=make_diff({rel: broken}, {rel: pristine}), setup_patch=make_diff({rel: pristine}, {rel: broken}),
                FAIL_TO_PASS=[], PASS_TO_PASS=[], files=[rel])
    ws = sb_workspaces.create(base)
    try:
        run = run_cargo_tests(sb_local, ws.path, timeout=300)
    finally:
        ws.close()
    assert run.build_ok, run.build_errors
    f2p = sorted(n for n, s in run.tests.items() if s == "failed")
    p2p = sorted(n for n, s in run.tests.items() if s == "passed")
    assert f2p, "the todo!() bug broke no test"
    task = Task.from_dict({**base.to_dict(), "FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p})
    return Arena(task, rel, broken, pristine, sb_local, sb_workspaces)


def assert_no_credit(report) -> None:
    assert report.resolution == "NO" and not report.resolved and report.f2p_passed == 0, report.summary()


def assert_nothing_left(marker: str) -> None:
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().decode(errors="replace")
                state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            assert not (marker in cmd and state not in "ZX"), f"process left behind: {cmd!r}"


# -- patch-level attacks --------------------------------------------------------------------------
def test_patch_with_dotdot_or_absolute_path_is_refused(arena, tmp_path):
    ws = arena.workspace()
    try:
        for path in ("../../escape.rs", "/tmp/abs-escape.rs", "src/../../../escape.rs"):
            with pytest.raises(PatchError, match="escapes|absolute"):
                ws.apply_patch(f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+pwned\n")
        assert not (ws.path.parent / "escape.rs").exists() and not Path("/tmp/abs-escape.rs").exists()
        assert ws.snapshot() == {}
    finally:
        ws.close()


def test_patch_creating_or_following_a_symlink_is_refused(arena, tmp_path):
    ws = arena.workspace()
    try:
        with pytest.raises(PatchError, match="symlink"):
            ws.apply_patch("diff --git a/src/evil b/src/evil\nnew file mode 120000\n--- /dev/null\n+++ b/src/evil\n"
                           "@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n")
        (ws.path / "src" / "out").symlink_to(tmp_path)  # as code run by the tests could do
        with pytest.raises(PatchError, match="symlink"):
            ws.apply_patch("--- /dev/null\n+++ b/src/out/pwned.rs\n@@ -0,0 +1 @@\n+x\n")
        assert list(tmp_path.iterdir()) == []
    finally:
        ws.close()


# -- hostile code in the tests' process -----------------------------------------------------------
def test_fork_bomb(arena):
    info = arena.sandbox.info()
    if not info.get("process_capped"):  # never run a real fork bomb without a cap
        pytest.skip(f"no process cap in this sandbox (no pids cgroup; RLIMIT_NPROC does not bind root): "
                    f"{info['process_limit']}")
    ws = arena.workspace('static ONCE: std::sync::Once = std::sync::Once::new(); ONCE.call_once(|| { '
                         'let _ = std::process::Command::new("sh").arg("-c")'
                         '.arg("cgbomb(){ cgbomb | cgbomb & }; cgbomb").spawn();'
                         ' std::thread::sleep(std::time::Duration::from_millis(500)); }); panic!("bomb planted")')
    try:
        report = arena.grade(ws)
    finally:
        ws.close()
    assert_no_credit(report)
    assert "bomb planted" in " ".join(report.failures.values()) or not report.valid
    assert_nothing_left("cgbomb")


def test_infinite_loop(arena):
    ws = arena.workspace("loop { std::hint::spin_loop(); }")
    try:
        report = arena.grade(ws, timeout=8.0)
    finally:
        ws.close()
    assert_no_credit(report)
    assert not report.valid and any("timed out" in p or "time budget" in p for p in report.problems)


def test_allocating_64_gib(arena):
    run, report = arena.run_and_grade('let v = vec![7u8; 64usize << 30]; panic!("allocated {} bytes", v.len())')
    assert_no_credit(report)
    assert not run.valid and any("signal" in p for p in run.problems)          # the binary aborted
    assert "memory allocation" in " ".join(b.stderr_tail for b in run.binaries)


def test_100_mb_of_output(arena):
    run, report = arena.run_and_grade(
        "static ONCE: std::sync::Once = std::sync::Once::new(); ONCE.call_once(|| { use std::io::Write; "
        "let mut o = std::io::stdout(); let line = [b'x'; 1024]; for _ in 0..100 * 1024 { let _ = o.write_all(&line); } });"
        ' panic!("printed")')
    assert_no_credit(report)
    assert run.exec.truncated and any("truncated" in p for p in run.problems)
    assert len(run.binaries[0].stderr_tail) < 10_000


def test_network_is_unreachable(arena):
    """A listener on 127.0.0.1 of the *host* network namespace (this process) must not be reached
    from the tests' code; a control run without network isolation shows the probe does reach it,
    so the check can fail (the outside address may be unreachable anyway on an offline machine)."""
    from cargogym.sandbox.exec import LocalSandbox

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    hits: list[int] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                hits.append(1)
                conn.close()
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    body = ("let d = std::time::Duration::from_secs(2); "
            f'let local = std::net::TcpStream::connect_timeout(&"127.0.0.1:{port}".parse().unwrap(), d).map(|_| ()); '
            'let outside = std::net::TcpStream::connect_timeout(&"1.1.1.1:80".parse().unwrap(), d).map(|_| ()); '
            'panic!("NETCHECK local={:?} outside={:?}", local, outside)')
    ws = arena.workspace(body)
    try:
        run = run_cargo_tests(arena.sandbox, ws.path, timeout=GRADE_TIMEOUT)
        report = arena.grade(ws)
        isolated_hits = list(hits)
        with LocalSandbox(isolate_network=False) as open_sb:  # control: same code, host network
            control = run_cargo_tests(open_sb, ws.path, timeout=GRADE_TIMEOUT)
    finally:
        ws.close()
        stop.set()
        t.join()
        server.close()
    assert_no_credit(report)
    control_msgs = [m for m in control.failures.values() if "NETCHECK" in m]
    assert control_msgs and all("local=Ok" in m for m in control_msgs), control_msgs[:1]
    assert len(hits) > len(isolated_hits)  # the listener saw the control's connections
    if not arena.sandbox.info()["network_isolated"]:
        pytest.skip(arena.sandbox.info()["network"])
    assert isolated_hits == []
    msgs = [m for m in run.failures.values() if "NETCHECK" in m]
    assert msgs and all("local=Err" in m and "outside=Err" in m for m in msgs), msgs[:1]
    assert "NETCHECK local=Err" in render(run)


def test_fake_ok_lines(arena):
    names = arena.unqualified()
    lines = "".join(f'test {n} ... ok\\n{{ \\"type\\": \\"test\\", \\"name\\": \\"{n}\\", \\"event\\": \\"ok\\" }}\\n'
                    for n in names)
    run, report = arena.run_and_grade(f'use std::io::Write; let _ = std::io::stdout().write_all(b"{lines}"); '
                                      'let _ = std::io::stdout().flush(); panic!("printed fake lines")')
    assert_no_credit(report)
    assert not run.valid and any("reported twice" in p or "summary" in p for p in run.problems)
    assert "could not be trusted" in render(run)


def test_process_exit_zero(arena):
    run, report = arena.run_and_grade("std::process::exit(0)")
    assert_no_credit(report)
    assert not run.valid and any("before its test summary" in p for p in run.problems)


def test_forged_complete_stream_then_exit_zero(arena):
    """The strongest spoof: a full, self-consistent fake JSON stream and summary, then exit(0)."""
    by_bin: dict[str, list[str]] = {}
    for q in arena.task.FAIL_TO_PASS + arena.task.PASS_TO_PASS:
        b, n = q.split("::", 1)
        by_bin.setdefault(b, []).append(n)
    # forge for the largest binary; the others print the same (harmless) lines
    names = max(by_bin.values(), key=len)
    fake = "".join(f'{{ \\"type\\": \\"test\\", \\"event\\": \\"started\\", \\"name\\": \\"{n}\\" }}\\n'
                   f'{{ \\"type\\": \\"test\\", \\"name\\": \\"{n}\\", \\"event\\": \\"ok\\" }}\\n' for n in names)
    fake += (f'{{ \\"type\\": \\"suite\\", \\"event\\": \\"ok\\", \\"passed\\": {len(names)}, \\"failed\\": 0, '
             f'\\"ignored\\": 0, \\"measured\\": 0, \\"filtered_out\\": 0 }}\\n')
    ws = arena.workspace(f'use std::io::Write; let _ = std::io::stdout().write_all(b"{fake}"); '
                         "let _ = std::io::stdout().flush(); std::process::exit(0)")
    try:
        report = arena.grade(ws)
    finally:
        ws.close()
    assert_no_credit(report)
    assert not report.valid
    # caught by the libtest cross-checks themselves, not only by the code policy (std::process)
    libtest = [p for p in report.problems if "(code policy)" not in p]
    assert any(p.startswith("lib: ") and "log file disagrees with the JSON stream" in p for p in libtest), libtest


def test_deleting_tests_and_test_modules(arena):
    def strip(ws) -> None:
        from cargogym.rewards.protect import restore_test_modules

        for rel in ws.list_files():
            if rel.startswith(("tests/", "benches/")):
                ws.delete(rel)
            elif rel.endswith(".rs"):
                ws.write_text(rel, restore_test_modules(ws.read_text(rel), None))  # drops every test module

    ws = arena.workspace()
    try:
        strip(ws)
        report = arena.grade(ws)
        assert_no_credit(report)
        assert report.f2p_total == len(arena.task.FAIL_TO_PASS) and any("reset" in n for n in report.notes)
        assert any(n.startswith(f"restored deleted test module {arena.file}::")
                   and n.endswith("(agent edits to tests are not graded)") for n in report.notes), report.notes
        ws.write_text(arena.file, arena.pristine)  # the real fix, tests still deleted
        strip(ws)
        fixed = arena.grade(ws)
        assert fixed.resolution == "FULL", fixed.summary()
    finally:
        ws.close()


def test_adding_ignore(arena):
    ws = arena.workspace()
    try:
        for rel in ws.list_files():
            if rel.endswith(".rs"):
                ws.write_text(rel, ws.read_text(rel).replace("#[test]", "#[test]\n#[ignore]"))
        report = arena.grade(ws)
    finally:
        ws.close()
    assert_no_credit(report)
    assert all(report.tests[n] == "failed" for n in arena.task.FAIL_TO_PASS)
    assert f"restored test module {arena.file}::tests (agent edits to tests are not graded)" in report.notes, \
        report.notes


def test_editing_cargo_toml_to_drop_test_targets(arena):
    ws = arena.workspace()
    try:
        toml = ws.read_text("Cargo.toml")
        toml = toml.replace("[package]\n", "[package]\nautotests = false\n", 1)
        toml = toml.replace("[lib]\n", "[lib]\ntest = false\n") if "[lib]\n" in toml else toml + "\n[lib]\ntest = false\n"
        ws.write_text("Cargo.toml", toml)
        own = run_cargo_tests(arena.sandbox, ws.path, timeout=GRADE_TIMEOUT)
        assert own.tests == {}  # the edit works in the episode workspace...
        report = arena.grade(ws)
    finally:
        ws.close()
    assert_no_credit(report)  # ...but not for grading
    assert report.f2p_total and all(report.tests[n] == "failed" for n in arena.task.FAIL_TO_PASS)
    assert any("Cargo.toml" in n for n in report.notes)


def test_build_rs_writing_outside_the_workspace(arena):
    token = uuid.uuid4().hex[:10]
    targets = [f"/tmp/cargogym-attack-{token}", f"/root/cargogym-attack-{token}", f"../cargogym-attack-{token}",
               f"/dev/shm/cargogym-attack-{token}"]
    writes = "".join(f'let _ = std::fs::write("{t}", "pwned"); ' for t in targets)
    ws = arena.workspace()
    try:
        ws.write_text("build.rs", "fn main() { " + writes + 'println!("cargo:warning=build script ran"); }\n')
        outside = [ws.path.parent / f"cargogym-attack-{token}"] + [Path(t) for t in targets if t.startswith("/")]
        run = run_cargo_tests(arena.sandbox, ws.path, timeout=GRADE_TIMEOUT)
        assert run.build_ok  # the build script ran (its writes failed silently)
        report = arena.grade(ws)
        assert_no_credit(report)
        assert any("build.rs" in n for n in report.notes)
        if arena.sandbox.info().get("jailed"):
            assert [p for p in outside if p.exists()] == []
    finally:
        ws.close()
        for t in targets:
            if t.startswith("/"):
                Path(t).unlink(missing_ok=True)


def test_redefining_assert_macros_is_tampering(arena):
    ws = arena.workspace()
    try:
        lib = ws.read_text("src/lib.rs")
        ws.write_text("src/lib.rs", "macro_rules! assert_eq { ($($t:tt)*) => {} }\n"
                                    "macro_rules! assert { ($($t:tt)*) => {} }\n" + lib)
        report = arena.grade(ws)
    finally:
        ws.close()
    assert_no_credit(report)
    assert not report.valid and any("redefines the std macro" in p for p in report.problems)
