"""The built-in crate corpus (``tasks/crates/<name>/``) and reading crates from disk."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from cargogym.errors import CargogymError

CRATES_DIR = Path(__file__).resolve().parent / "crates"
BUILTIN_TASKS = Path(__file__).resolve().parent / "builtin_tasks.jsonl"
_SOURCE_DIRS = ("src", "tests", "benches", "examples")
_TEST_DIRS = ("tests", "benches", "examples")


class CorpusError(CargogymError):
    """An unknown crate name or a folder that is not a crate."""


def builtin_crates() -> dict[str, Path]:
    """Built-in crates by name (sorted): every folder of ``tasks/crates`` with a ``Cargo.toml``."""
    if not CRATES_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(CRATES_DIR.iterdir()) if (p / "Cargo.toml").is_file()}


def crate_path(name: str) -> Path:
    """The folder of built-in crate ``name``; :class:`CorpusError` listing the known ones."""
    crates = builtin_crates()
    if name not in crates:
        raise CorpusError(f"unknown built-in crate {name!r}; known: {', '.join(crates) or '(none)'}")
    return crates[name]


def resolve_crates(spec: str | list[str]) -> dict[str, Path]:
    """``"all"``, a comma-separated list, or a list of built-in names / crate folder paths."""
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not items or items == ["all"]:
        crates = builtin_crates()
        if not crates:
            raise CorpusError(f"no built-in crates found under {CRATES_DIR}")
        return crates
    out: dict[str, Path] = {}
    for item in items:
        p = Path(item)
        if (p / "Cargo.toml").is_file():
            out[p.resolve().name] = p.resolve()
        elif "/" in item or item.startswith("."):
            raise CorpusError(f"{item}: not a crate folder (no Cargo.toml)")
        else:
            out[item] = crate_path(item)
    return out


def is_test_path(rel: str) -> bool:
    """Files that are test code by location (``tests/``, ``benches/``, ``examples/``)."""
    parts = PurePosixPath(rel).parts
    return bool(parts) and parts[0] in _TEST_DIRS


def read_crate(path: str | Path) -> dict[str, str]:
    """The crate's files that tasks may touch: ``Cargo.toml`` and every ``.rs`` under src/, tests/,
    benches/, examples/ (relative POSIX paths → text). Never ``target/`` or ``Cargo.lock``."""
    root = Path(path)
    if not (root / "Cargo.toml").is_file():
        raise CorpusError(f"{root}: not a crate folder (no Cargo.toml)")
    files = {"Cargo.toml": (root / "Cargo.toml").read_text(encoding="utf-8")}
    for d in _SOURCE_DIRS:
        base = root / d
        if base.is_dir():
            for f in sorted(base.rglob("*.rs")):
                files[f.relative_to(root).as_posix()] = f.read_text(encoding="utf-8")
    return files


REGENERATE = "cargogym tasks generate --crates all --per-crate 40 --seed 0 --out tasks/builtin_tasks.jsonl"


def stale_tasks(tasks) -> list[str]:
    """Ids of built-in tasks made from a crate whose files have changed since (``extra["crate_hash"]``)."""
    from cargogym.tasks.record import content_hash

    crates = builtin_crates()
    hashes: dict[str, str | None] = {}
    out = []
    for t in tasks:
        if not t.is_builtin:
            continue
        if t.crate not in hashes:
            hashes[t.crate] = content_hash(read_crate(crates[t.crate])) if t.crate in crates else None
        if hashes[t.crate] is None or t.extra.get("crate_hash") != hashes[t.crate]:
            out.append(t.instance_id)
    return out


def builtin_tasks(family: str | None = None, crate: str | None = None, include_stale: bool = False):
    """The pre-generated, validated task set shipped with the package (``tasks/builtin_tasks.jsonl``,
    made by ``cargogym tasks generate``), optionally filtered by family and crate. Tasks whose crate
    changed after generation are left out (with a warning) unless ``include_stale``."""
    import warnings

    from cargogym.tasks.record import read_tasks

    if not BUILTIN_TASKS.is_file():
        raise CorpusError(f"{BUILTIN_TASKS} is missing; create it with `{REGENERATE}`")
    tasks = [t for t in read_tasks(BUILTIN_TASKS)
             if (family is None or t.family == family) and (crate is None or t.crate == crate)]
    if include_stale:
        return tasks
    stale = set(stale_tasks(tasks))
    if stale:
        warnings.warn(f"{len(stale)} built-in task(s) were made from crates that changed since; skipped. "
                      f"Regenerate with `{REGENERATE}`", stacklevel=2)
    return [t for t in tasks if t.instance_id not in stale]
