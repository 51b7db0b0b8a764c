"""apply_patch / make_diff: both formats, exact context, atomicity, confinement."""

from __future__ import annotations

import os
import random

import pytest

from cargogym.sandbox.patch import PatchError, apply_patch, make_diff

LIB = "fn a() {\n    1\n}\n\nfn b() {\n    2\n}\n"


@pytest.fixture
def crate(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text(LIB)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.rs").write_text("#[test]\nfn t() {}\n")
    return tmp_path


def test_git_unified_diff_applies(crate):
    diff = ("diff --git a/src/lib.rs b/src/lib.rs\nindex 1..2 100644\n--- a/src/lib.rs\n+++ b/src/lib.rs\n"
            "@@ -5,3 +5,3 @@ fn a() {\n fn b() {\n-    2\n+    3\n }\n")
    res = apply_patch(crate, diff)
    assert res.files_changed == ["src/lib.rs"] and not res.files_created
    assert (crate / "src/lib.rs").read_text() == LIB.replace("    2", "    3")


def test_hunk_found_away_from_its_line_number_but_context_must_be_exact(crate):
    ok = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -40,3 +40,3 @@\n fn a() {\n-    1\n+    10\n }\n"
    apply_patch(crate, ok)
    assert "    10" in (crate / "src/lib.rs").read_text()
    bad = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,3 +1,3 @@\n fn a()  {\n-    10\n+    11\n }\n"
    with pytest.raises(PatchError, match=r"hunk #1 of src/lib.rs .*does not apply"):
        apply_patch(crate, bad)


def test_begin_patch_format_add_update_delete_move(crate):
    patch = """*** Begin Patch
*** Update File: src/lib.rs
@@ fn b() {
-    2
+    20
*** Add File: src/extra.rs
+pub fn extra() {}
*** Delete File: tests/t.rs
*** End Patch
"""
    res = apply_patch(crate, patch)
    assert res.files_changed == ["src/lib.rs"] and res.files_created == ["src/extra.rs"]
    assert res.files_deleted == ["tests/t.rs"]
    assert "    20" in (crate / "src/lib.rs").read_text() and not (crate / "tests/t.rs").exists()
    apply_patch(crate, "*** Begin Patch\n*** Update File: src/extra.rs\n*** Move to: src/moved.rs\n"
                       "-pub fn extra() {}\n+pub fn moved() {}\n*** End Patch")
    assert (crate / "src/moved.rs").read_text() == "pub fn moved() {}\n" and not (crate / "src/extra.rs").exists()


def test_atomic_nothing_written_when_a_later_file_fails(crate):
    diff = ("--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,2 +1,2 @@\n fn a() {\n-    1\n+    100\n"
            "--- a/tests/t.rs\n+++ b/tests/t.rs\n@@ -1,2 +1,2 @@\n #[test]\n-fn nope() {}\n+fn t2() {}\n")
    with pytest.raises(PatchError, match="tests/t.rs"):
        apply_patch(crate, diff)
    assert (crate / "src/lib.rs").read_text() == LIB


@pytest.mark.parametrize("path,msg", [("../evil.rs", "escapes"), ("/etc/passwd", "absolute"),
                                      ("src/../../x.rs", "escapes"), ("target/debug/x", "target")])
def test_paths_are_confined(crate, path, msg):
    diff = f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+x\n"
    with pytest.raises(PatchError, match=msg):
        apply_patch(crate, diff)


def test_no_writes_through_symlinks_and_no_symlink_creation(crate, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    os.symlink(outside, crate / "link")
    with pytest.raises(PatchError, match="symlink"):
        apply_patch(crate, "--- /dev/null\n+++ b/link/pwned.rs\n@@ -0,0 +1 @@\n+x\n")
    assert not (outside / "pwned.rs").exists()
    with pytest.raises(PatchError, match="symlink"):
        apply_patch(crate, "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+/etc\n")


def test_may_edit_callback_denies(crate):
    diff = "--- a/tests/t.rs\n+++ b/tests/t.rs\n@@ -1,2 +1,2 @@\n #[test]\n-fn t() {}\n+fn t() { panic!() }\n"
    with pytest.raises(PatchError, match="editing tests/t.rs is not allowed"):
        apply_patch(crate, diff, may_edit=lambda rel: not rel.startswith("tests/"))
    assert "panic" not in (crate / "tests/t.rs").read_text()


def test_garbage_is_a_clear_error(crate):
    for junk in ["", "hello", "*** Begin Patch\n*** Update File: src/lib.rs\n"]:
        with pytest.raises(PatchError):
            apply_patch(crate, junk)


def test_make_diff_round_trips_through_apply_patch(tmp_path):
    rnd = random.Random(7)
    words = ["a", "", "  x", "fn f() {", "}", "let y = 2;"]
    for trial in range(150):
        old, new = {}, {}
        for f in ("src/a.rs", "src/b.rs", "tests/c.rs"):
            if rnd.random() < 0.8:
                old[f] = "\n".join(rnd.choice(words) for _ in range(rnd.randint(0, 10))) + rnd.choice(["", "\n"])
            if rnd.random() < 0.8:
                lines = old.get(f, "").split("\n")
                for _ in range(rnd.randint(0, 4)):
                    i = rnd.randint(0, len(lines))
                    if rnd.random() < 0.5:
                        lines.insert(i, rnd.choice(words))
                    elif lines:
                        lines.pop(min(i, len(lines) - 1))
                new[f] = "\n".join(lines)
        root = tmp_path / str(trial)
        for f, t in old.items():
            (root / f).parent.mkdir(parents=True, exist_ok=True)
            (root / f).write_text(t)
        root.mkdir(exist_ok=True)
        diff = make_diff(old, new)
        if diff:
            apply_patch(root, diff)
        for f in set(old) | set(new):
            got = (root / f).read_text() if (root / f).exists() else None
            assert got == new.get(f), (trial, f, diff)
