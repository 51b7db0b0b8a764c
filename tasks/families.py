"""Build :class:`~cargogym.tasks.record.Task` records of the five families from validated changes.

Pure functions: the pristine crate's files, the validated change(s) and the baseline in; a task
out. Problem statements describe the symptom — failing tests and the first lines of their panics,
or the compiler's errors — never the fix.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from cargogym.tasks.diffs import changed_files, make_diff
from cargogym.tasks.mutate import Mutation
from cargogym.tasks.record import BUILTIN_PREFIX, SubTask, Task, content_hash, now_iso
from cargogym.tasks.syntax import parse, text
from cargogym.tasks.validate import Evaluation, Verdict

MAX_SHOWN_TESTS = 5
MAX_PANIC_LINES = 6
MAX_ERROR_LINES = 14


@dataclass
class Change:
    """One or more mutations that were validated together."""

    mutations: list[Mutation]
    verdict: Verdict
    evaluation: Evaluation
    extra: dict = field(default_factory=dict)

    def apply(self, files: dict[str, str]) -> dict[str, str]:
        out = dict(files)
        # apply later offsets first so earlier ones stay valid within a file
        for m in sorted(self.mutations, key=lambda m: (m.file, -m.start)):
            out[m.file] = m.apply_text(out[m.file])
        return out

    @property
    def files(self) -> list[str]:
        return sorted({m.file for m in self.mutations})


def _short_hash(*parts: str) -> str:
    h = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return h[:10]


def instance_id(crate: str, family: str, key: str) -> str:
    return f"{crate}__{family}-{_short_hash(crate, family, key)}"


def _indent(block: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + ln if ln.strip() else ln for ln in block.splitlines())


def describe_failures(f2p: list[str], failures: dict[str, str], total: int) -> str:
    """The failing tests (first few, with the first lines of their panic)."""
    lines = [f"Failing tests ({len(f2p)} of {total}):"]
    for name in f2p[:MAX_SHOWN_TESTS]:
        lines.append(f"- {name}")
        panic = [ln for ln in (failures.get(name) or "").splitlines() if ln.strip()][:MAX_PANIC_LINES]
        if panic:
            lines.append(_indent("\n".join(panic)))
    if len(f2p) > MAX_SHOWN_TESTS:
        lines.append(f"- ... and {len(f2p) - MAX_SHOWN_TESTS} more")
    return "\n".join(lines)


def _not_passed(tests: dict[str, str]) -> dict[str, str]:
    return {t: s for t, s in sorted(tests.items()) if s != "passed"}


def _validation(ev: Evaluation, baseline_tests: dict[str, str]) -> dict:
    """Per-test statuses of the broken and the fixed state, compactly: only tests whose status is
    not ``passed`` are listed (every other test of the crate passed); ``tests`` counts them all."""
    return {"tests": len(baseline_tests), "broken": _not_passed({**{t: "failed" for t in baseline_tests}, **ev.tests}),
            "fixed": _not_passed(baseline_tests)}


def repo_of(crate: str, repo: str | None) -> str:
    """``builtin:<crate>`` unless an explicit repo (a crate folder path) is given."""
    return repo or f"{BUILTIN_PREFIX}{crate}"


def _base(crate: str, family: str, pristine: dict[str, str], broken: dict[str, str], key: str,
          repo: str | None = None) -> dict:
    return {
        "instance_id": instance_id(crate, family, key),
        "repo": repo_of(crate, repo),
        "base_commit": content_hash(broken),
        "patch": make_diff(broken, pristine),
        "setup_patch": make_diff(pristine, broken),
        "test_patch": "",
        "family": family,
        "files": changed_files(pristine, broken),
        "created_at": now_iso(),
    }


def _module_of(rel: str) -> str:
    p = PurePosixPath(rel)
    parts = list(p.parts[1:])  # drop "src"
    if not parts:
        return ""
    parts[-1] = PurePosixPath(parts[-1]).stem
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return "::".join(parts)


def _bug_difficulty(files: list[str], f2p: list[str]) -> str:
    mods = {_module_of(f) for f in files}
    near = any(t.startswith("lib::") and any(m and t[5:].startswith(m + "::") for m in mods) for t in f2p)
    return "easy" if near else "medium"


def single_bug_task(crate: str, pristine: dict[str, str], change: Change, baseline_tests: dict[str, str],
                  repo: str | None = None) -> Task:
    broken = change.apply(pristine)
    v = change.verdict
    total = sum(1 for s in baseline_tests.values() if s == "passed")
    statement = (f"The test suite of the `{crate}` crate is failing.\n\n"
                 f"{describe_failures(v.fail_to_pass, change.evaluation.failures, total)}\n\n"
                 "Find and fix the cause so that these tests pass again without breaking the passing ones. "
                 "Do not modify the tests.")
    base = _base(crate, "single_bug", pristine, broken, make_diff(pristine, broken), repo)
    m = change.mutations[0]
    return Task(**base, problem_statement=statement, FAIL_TO_PASS=v.fail_to_pass, PASS_TO_PASS=v.pass_to_pass,
                bug_kinds=[m.operator], n_bugs=1,
                sub_tasks=[SubTask(0, [m.file], list(v.fail_to_pass), m.operator,
                                   f"make {len(v.fail_to_pass)} failing test(s) pass; the cause is in {m.file}")],
                difficulty=_bug_difficulty([m.file], v.fail_to_pass),
                extra={"validation": _validation(change.evaluation, baseline_tests),
                       "mutations": [m.to_dict()]})


def multi_bug_task(crate: str, pristine: dict[str, str], parts: list[Change], combined: Change,
                   baseline_tests: dict[str, str], repo: str | None = None) -> Task:
    """``combined`` holds all mutations and the verdict of validating them together; each of
    ``parts`` is one bug validated alone (its F2P restricted to the combined F2P)."""
    broken = combined.apply(pristine)
    v = combined.verdict
    total = sum(1 for s in baseline_tests.values() if s == "passed")
    statement = (f"The test suite of the `{crate}` crate is failing.\n\n"
                 f"{describe_failures(v.fail_to_pass, combined.evaluation.failures, total)}\n\n"
                 "The failures may have more than one cause. Fix them so that these tests pass again "
                 "without breaking the passing ones. Do not modify the tests.")
    combined_f2p = set(v.fail_to_pass)
    subs = []
    for i, part in enumerate(parts):
        m = part.mutations[0]
        f2p = [t for t in part.verdict.fail_to_pass if t in combined_f2p]
        subs.append(SubTask(i, [m.file], f2p, m.operator,
                            f"make {len(f2p)} failing test(s) pass; the cause is in {m.file}"))
    base = _base(crate, "multi_bug", pristine, broken, make_diff(pristine, broken), repo)
    return Task(**base, problem_statement=statement, FAIL_TO_PASS=v.fail_to_pass, PASS_TO_PASS=v.pass_to_pass,
                bug_kinds=[p.mutations[0].operator for p in parts], n_bugs=len(parts), sub_tasks=subs,
                difficulty="medium" if len(parts) == 2 else "hard",
                extra={"validation": _validation(combined.evaluation, baseline_tests),
                       "mutations": [p.mutations[0].to_dict() for p in parts]})


def _function_header(src: str, m: Mutation) -> tuple[str, str, str]:
    """(signature, doc comment, owner ``impl``) of the function whose body ``m`` replaces."""
    b = src.encode()
    tree = parse(b)
    node = tree.root_node.descendant_for_byte_range(m.start, m.end)
    while node is not None and node.type != "function_item":
        node = node.parent
    if node is None:
        return "", "", ""
    body = node.child_by_field_name("body")
    sig = " ".join(b[node.start_byte:body.start_byte].decode().split()) if body is not None else text(node, b)
    docs: list[str] = []
    prev = node.prev_sibling
    while prev is not None and prev.type in ("line_comment", "attribute_item", "block_comment"):
        t = text(prev, b).strip()
        if prev.type == "line_comment" and t.startswith("///"):
            docs.insert(0, t)
        prev = prev.prev_sibling
    owner = ""
    p = node.parent
    while p is not None:
        if p.type in ("impl_item", "trait_item"):
            ty = p.child_by_field_name("type") or p.child_by_field_name("name")
            tr = p.child_by_field_name("trait")
            owner = (f"impl {text(tr, b)} for {text(ty, b)}" if tr is not None and ty is not None
                     else f"impl {text(ty, b)}" if ty is not None else "")
            break
        p = p.parent
    return sig, "\n".join(docs), owner


def implement_task(crate: str, pristine: dict[str, str], change: Change, baseline_tests: dict[str, str],
                  repo: str | None = None) -> Task:
    m = change.mutations[0]
    broken = change.apply(pristine)
    v = change.verdict
    sig, docs, owner = _function_header(pristine[m.file], m)
    where = f" (in `{owner}`)" if owner else ""
    total = sum(1 for s in baseline_tests.values() if s == "passed")
    statement = (f"`{sig}`{where} in `{m.file}` of the `{crate}` crate is not implemented yet: "
                 "its body is `todo!()`.\n\n"
                 + (f"Its documentation:\n{docs}\n\n" if docs else "")
                 + "Implement it so that the crate's tests pass.\n\n"
                 + describe_failures(v.fail_to_pass, change.evaluation.failures, total)
                 + "\n\nDo not modify the tests.")
    body_lines = len(pristine[m.file].encode()[m.start:m.end].decode().splitlines())
    base = _base(crate, "implement", pristine, broken, make_diff(pristine, broken), repo)
    return Task(**base, problem_statement=statement, FAIL_TO_PASS=v.fail_to_pass, PASS_TO_PASS=v.pass_to_pass,
                bug_kinds=["todo_body"], n_bugs=1,
                sub_tasks=[SubTask(0, [m.file], list(v.fail_to_pass), "todo_body", f"implement `{sig}`")],
                difficulty="medium" if body_lines <= 12 else "hard",
                extra={"validation": _validation(change.evaluation, baseline_tests), "mutations": [m.to_dict()],
                       "function": sig})


_DIAG_HEADER = re.compile(r"^(error|warning|note|help)(\[[A-Za-z0-9]+\])?:")
_SUB_ENTRY = re.compile(r"^\s*= ")                         # "  = note: ..." / "  = help: ..."
_SUB_HELP = re.compile(r"^\s*= help:")
_SNIPPET = re.compile(r"^\s*(\d+\s*)?\||^\s*-->|^\s*::: |^\.\.\.$")
_LABEL_HELP = re.compile(r"\s*\bhelp: .*$")
# a suggestion's code: "131 -  old", "131 +  new", "131 ~  new", or a marker row "|   +++" / "|  ~~~"
_SUGGESTION = re.compile(r"^\s*\d+\s*[-+~](\s|$)|^\s*\|\s*[+~]+\s*$")


def _without_sub_helps(lines: list[str]) -> list[str]:
    """``lines`` minus ``= help: ...`` entries (with their continuation lines), minus suggestion
    rows, and with inline ``help: ...`` labels cut off snippet label rows."""
    out: list[str] = []
    in_help = False
    for line in lines:
        if _SUB_HELP.match(line):
            in_help = True
            continue
        if in_help and line.strip() and not _SNIPPET.match(line) and not _SUB_ENTRY.match(line):
            continue  # continuation of the dropped help entry
        in_help = False
        if _SUGGESTION.match(line):
            continue
        if re.match(r"^\s*\|", line):  # a label row (source rows carry a line number)
            line = _LABEL_HELP.sub("", line)
        out.append(line)
    return out


def symptom_of(diagnostic: str) -> str:
    """A rendered rustc diagnostic reduced to its symptom: the ``error[E…]`` line, its location
    and source snippet, and the notes that carry no code; every ``help:`` block, ``= help:``
    entry, inline ``help:`` label and suggested code line (``+``/``-``/``~`` rows) is removed, so
    the text never shows the fix."""
    blocks: list[list[str]] = []
    for line in diagnostic.splitlines():
        if not blocks or _DIAG_HEADER.match(line):
            blocks.append([line])
        else:
            blocks[-1].append(line)
    out: list[str] = []
    for i, block in enumerate(blocks):
        if i and (block[0].startswith("help") or any(_SUGGESTION.match(ln) for ln in block)):
            continue  # a help block, or a note that suggests code
        out += _without_sub_helps(block)
    while out and out[-1].strip() in ("", "|"):
        out.pop()
    return "\n".join(out)


MIN_FIX_LINE = 8  # shorter added lines (``}``, ``None``, ``self``) are not evidence of a leak


def _diff_lines(patch: str, sign: str) -> list[str]:
    return [ln[1:].strip() for ln in patch.splitlines()
            if ln.startswith(sign) and not ln.startswith(sign * 3) and ln[1:].strip()]


def fix_lines_shown(statement: str, patch: str, min_len: int = MIN_FIX_LINE) -> list[str]:
    """Lines the gold ``patch`` adds (stripped, ≥ ``min_len`` characters) that ``statement`` shows,
    not counting where they are only part of an echoed broken line (a line the patch removes: a
    dropped ``;`` leaves the fixed line inside the broken one)."""
    shown = statement
    for removed in sorted(_diff_lines(patch, "-"), key=len, reverse=True):
        shown = shown.replace(removed, "")
    return [ln for ln in _diff_lines(patch, "+") if len(ln) >= min_len and ln in shown]


def suggestion_lines(text: str) -> list[str]:
    """Lines of ``text`` that carry a rustc ``help:`` (a block, an ``= help:`` entry or a label)."""
    return [ln for ln in text.splitlines()
            if re.match(r"^\s*(= )?help:", ln) or (re.match(r"^\s*\|", ln) and _LABEL_HELP.search(ln))]


def compile_error_task(crate: str, pristine: dict[str, str], change: Change, baseline_tests: dict[str, str],
                  repo: str | None = None) -> Task:
    m = change.mutations[0]
    broken = change.apply(pristine)
    v = change.verdict
    errors = []
    patch = make_diff(broken, pristine)
    for e in change.evaluation.errors[:2]:
        # belt and braces: a row that still shows a fixed line (a rendering symptom_of does not know) goes
        lines = [ln for ln in symptom_of(e).splitlines() if not fix_lines_shown(ln, patch)]
        errors.append("\n".join(lines[:MAX_ERROR_LINES]))
    more = len(change.evaluation.errors) - len(errors)
    statement = (f"The `{crate}` crate no longer compiles: `cargo check` fails with\n\n"
                 + "\n\n".join(errors)
                 + (f"\n\n(and {more} more error(s))" if more > 0 else "")
                 + "\n\nFix the code so that the crate builds and all its tests pass again. "
                 "Do not modify the tests.")
    base = _base(crate, "compile_error", pristine, broken, make_diff(pristine, broken), repo)
    return Task(**base, problem_statement=statement, FAIL_TO_PASS=v.fail_to_pass, PASS_TO_PASS=v.pass_to_pass,
                bug_kinds=[m.operator], n_bugs=1,
                sub_tasks=[SubTask(0, [m.file], list(v.fail_to_pass), m.operator, f"make {m.file} compile")],
                difficulty="easy",
                extra={"validation": {"tests": len(baseline_tests), "errors": change.evaluation.errors[:3],
                                      "fixed": _not_passed(baseline_tests)},
                       "mutations": [m.to_dict()]})


REVIEW_PROMPT = ("Review this change to the `{crate}` crate. Answer APPROVE if it is correct and keeps the "
                 "crate's behaviour, or REQUEST_CHANGES if it introduces a bug.\n\n```diff\n{diff}```")


def review_task(crate: str, pristine: dict[str, str], change: Change, label: str,
                baseline_tests: dict[str, str], repo: str | None = None) -> Task:
    """The workspace is the pristine crate; ``review["diff"]`` is the proposed change."""
    assert label in ("buggy", "clean")
    changed = change.apply(pristine)
    diff = make_diff(pristine, changed)
    v = change.verdict
    m = change.mutations[0]
    passing = sorted(t for t, s in baseline_tests.items() if s == "passed")
    return Task(
        instance_id=instance_id(crate, "review", diff),
        repo=repo_of(crate, repo),
        base_commit=content_hash(pristine),
        patch="",
        test_patch="",
        problem_statement=REVIEW_PROMPT.format(crate=crate, diff=diff),
        FAIL_TO_PASS=list(v.fail_to_pass) if label == "buggy" else [],
        PASS_TO_PASS=list(v.pass_to_pass) if label == "buggy" else passing,
        family="review",
        bug_kinds=[m.operator],
        files=change.files,
        n_bugs=1 if label == "buggy" else 0,
        sub_tasks=[],
        difficulty="medium",
        created_at=now_iso(),
        setup_patch="",
        review={"diff": diff, "label": label},
        extra={"validation": _validation(change.evaluation, baseline_tests), "mutations": [m.to_dict()]},
    )
