"""Run untrusted commands (cargo builds, test binaries) with limits.

``Sandbox.run(argv, cwd, timeout, env) -> ExecResult`` is the one interface; ``make_sandbox`` picks
a backend: ``"local"`` (this module, needs no daemon) or ``"docker"`` (``docker_backend.py``).

The local backend, and why each piece is there:

- **No fork of the (possibly huge) Python process with a ``preexec_fn``**: that costs ~70 ms for a
  2 GB parent. The child is spawned with ``vfork`` semantics (``process_group=0`` only) as a tiny
  ``/bin/sh`` prologue that joins the sandbox's pids cgroup, applies ``ulimit`` and ``exec``s
  ``nsenter`` into the sandbox's network namespace, which ``exec``s the command (~2.5 ms total).
- **Rlimits** (CPU seconds, address space, file size, open files, processes) via ``ulimit``.
  ``RLIMIT_NPROC`` is not enforced for root, so when we run as root the fork-bomb guard is a
  **pids cgroup** (``pids.max``) created under our own cgroup; it also lets us kill every process
  the command left behind, even ones that escaped the process group with ``setsid``. Where no
  cgroup can be made, NPROC is the guard (effective for non-root users). ``info()`` says which.
- **Network**: one network namespace per sandbox (held by a ``cat`` that dies with us when its
  stdin pipe closes), joined per command with ``nsenter``; only a down loopback exists there.
  Non-root users get ``unshare -rn`` (user namespace) per command. When the kernel refuses both,
  commands run with the host network and ``info()["network_isolated"]`` is False with the reason.
- **Wall-clock timeout** kills the whole process group and the cgroup; so does normal exit
  (nothing the command started survives it).
- **Output cap**: stdout and stderr each keep their first and last ``output_limit/2`` bytes; the
  middle is replaced by a marker and ``truncated`` is set.
- **Environment**: a clean one (no inherited secrets): PATH with the real toolchain first,
  RUSTUP_HOME, an isolated CARGO_HOME (std-only crates need no registry), ``CARGO_NET_OFFLINE``.
  (No empty ``RUSTC_WRAPPER`` against a planted ``rustc-wrapper``: with one set, cargo stops
  caching rustc's info and every cargo call costs ~70 ms more; planted configs are kept out
  instead, see below.)
- **Filesystem** (root): the ``cargogym-jail`` launcher (``jail.py``) makes everything read-only
  but the workspace and a private ``/tmp`` and hides the cache, the cargogym checkout and every
  path registered with :func:`hide_from_sandboxes` (imported tasks' source repositories, tasks
  files). Before every command ``.cargo/config*`` above the workspace in cargogym's workspace
  tree is removed (cargo reads every ancestor's). **Without the jail** (non-root, or refused)
  test code can write wherever this user can; the sandbox then also resets its CARGO_HOME and
  refuses to run below any other cargo config that was not there, unchanged, when the process
  started, and :class:`~cargogym.sandbox.workspace.PrebuiltCache` re-verifies the pristine copies.
"""

from __future__ import annotations

import itertools
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from cargogym.errors import CargogymError

DEFAULT_OUTPUT_LIMIT = 2 * 1024 * 1024  # bytes kept per stream (head + tail)


class SandboxError(CargogymError):
    """The sandbox itself could not run a command (not: the command failed)."""


@dataclass
class ExecResult:
    """Outcome of one command. ``exit_code`` is None when the command timed out, negative
    (``-signal``) when a signal killed it."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    truncated: bool

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def to_dict(self) -> dict:
        return {
            "exit_code": self.exit_code, "stdout": self.stdout, "stderr": self.stderr,
            "timed_out": self.timed_out, "duration": self.duration, "truncated": self.truncated,
        }


@runtime_checkable
class Sandbox(Protocol):
    name: str

    def run(self, argv: list[str], cwd: str | Path, timeout: float = 60.0,
            env: dict[str, str] | None = None) -> ExecResult: ...

    def info(self) -> dict: ...

    def close(self) -> None: ...


@dataclass
class Limits:
    """Per-command resource limits (``None`` = leave as inherited)."""

    cpu_seconds: int | None = 300
    address_space: int | None = 8 * 1024**3       # bytes; 64 GiB allocations fail
    file_size: int | None = 1024**3                # bytes per file written
    open_files: int | None = 1024
    processes: int | None = 256                    # pids cgroup max (root) / RLIMIT_NPROC
    output_limit: int = DEFAULT_OUTPUT_LIMIT       # bytes kept per stream

    def to_dict(self) -> dict:
        return {
            "cpu_seconds": self.cpu_seconds, "address_space": self.address_space,
            "file_size": self.file_size, "open_files": self.open_files,
            "processes": self.processes, "output_limit": self.output_limit,
        }


# -- toolchain and environment ------------------------------------------------------------------
_TOOLCHAIN_LOCK = threading.Lock()
_TOOLCHAIN: dict[str, str] | None = None


def toolchain() -> dict[str, str]:
    """The real toolchain: ``{"cargo", "rustc", "bin_dir", "sysroot"}`` (rustup proxies resolved,
    so each cargo call skips the proxy). Raises :class:`CargoNotFoundError` without cargo."""
    global _TOOLCHAIN
    with _TOOLCHAIN_LOCK:
        if _TOOLCHAIN is None:
            from cargogym.errors import require_cargo

            cargo = require_cargo()
            rustc = shutil.which("rustc") or str(Path(cargo).with_name("rustc"))
            sysroot = ""
            try:
                sysroot = subprocess.run([rustc, "--print", "sysroot"], capture_output=True,
                                         text=True, timeout=30).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                pass
            bin_dir = Path(sysroot) / "bin" if sysroot else Path(cargo).parent
            real_cargo = bin_dir / "cargo"
            real_rustc = bin_dir / "rustc"
            _TOOLCHAIN = {
                "cargo": str(real_cargo if real_cargo.exists() else cargo),
                "rustc": str(real_rustc if real_rustc.exists() else rustc),
                "bin_dir": str(bin_dir if real_cargo.exists() else Path(cargo).parent),
                "sysroot": sysroot,
            }
        return dict(_TOOLCHAIN)


def default_hidden() -> list[Path]:
    """Paths sandboxed code must not read: cargogym's cache (pre-built pristine crates = the
    fixes) and the cargogym checkout (task files with gold patches). ``$CARGOGYM_HIDE`` adds
    more (``:``-separated)."""
    out = [cache_dir(), Path(__file__).resolve().parent.parent]
    out += [Path(p) for p in os.environ.get("CARGOGYM_HIDE", "").split(":") if p]
    return out


_JAIL_WORKS: set[str] = set()  # jail launchers that ran a probe command in this process


def _probe_jail(binary: str) -> str | None:
    """None when ``binary`` can jail a command here, else the kernel's refusal."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cargogym-jail-probe-") as d:
        probe = subprocess.run([binary, "--isolate", "--dropcaps", "--rw", d, "--", "touch", "ok"],
                               capture_output=True, text=True, timeout=30, cwd=d)
    return None if probe.returncode == 0 else probe.stderr.strip()[-300:]


_REGISTERED_HIDDEN: dict[str, None] = {}  # insertion-ordered set
_HIDDEN_LOCK = threading.Lock()


def hide_from_sandboxes(*paths: str | os.PathLike) -> None:
    """Hide ``paths`` (folders or files) from every jailed command from now on: e.g. an imported
    task's source repository (its ``.git`` holds the fix) and the folder of a tasks file (gold
    patches); see :func:`hide_plan` for what is hidden when a folder holds the toolchain.
    Registered by the workspace manager and the tasks reader. Also appended to
    ``$CARGOGYM_HIDE`` so that processes started later (rollout workers) hide them too."""
    with _HIDDEN_LOCK:
        for p in paths:
            if p:
                _REGISTERED_HIDDEN[os.path.realpath(p)] = None
        env = [p for p in os.environ.get("CARGOGYM_HIDE", "").split(":") if p]
        os.environ["CARGOGYM_HIDE"] = ":".join(dict.fromkeys(env + [p for p in _REGISTERED_HIDDEN if ":" not in p]))


def registered_hidden() -> list[str]:
    """The paths given to :func:`hide_from_sandboxes` (here or, via ``$CARGOGYM_HIDE``, in a
    parent process), canonical."""
    with _HIDDEN_LOCK:
        env = [os.path.realpath(p) for p in os.environ.get("CARGOGYM_HIDE", "").split(":") if p]
        return list(dict.fromkeys([*_REGISTERED_HIDDEN, *env]))


SYSTEM_DIRS = ("/", "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev",
               "/home", "/var", "/opt", "/run")


def _is_within(path: str, base: str) -> bool:
    base = base.rstrip("/") or "/"
    return path == base or path.startswith(base if base == "/" else base + "/")


def hide_plan(paths: list[str], keep: list[str]) -> tuple[list[str], list[str]]:
    """(folders, files) to hide for one command. A folder that holds something the command needs
    (its cwd, the toolchain: ``keep``) or that is a system folder is not hidden; a *file* in it
    still is (a tasks file in ``$HOME`` hides the file, not the home with the toolchain).
    Paths that do not exist are dropped. Pure apart from ``os.path`` checks."""
    folders: list[str] = []
    files: list[str] = []
    for p in dict.fromkeys(paths):
        if os.path.isdir(p):
            if p not in SYSTEM_DIRS and not any(_is_within(k, p) for k in keep):
                folders.append(p)
        elif os.path.isfile(p):
            files.append(p)
    # a folder inside another hidden folder is hidden already (and could not be mounted on)
    folders = [f for f in folders if not any(f != g and _is_within(f, g) for g in folders)]
    files = [f for f in files if not any(_is_within(f, g) for g in folders)]
    return folders, files


def cache_dir() -> Path:
    """``$CARGOGYM_CACHE`` or ``~/.cache/cargogym``."""
    base = os.environ.get("CARGOGYM_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "cargogym"


CARGO_HOME_CONFIG = "[net]\noffline = true\n[term]\ncolor = \"never\"\n"
CARGO_HOME_KEEP = {".package-cache", ".package-cache-mutate", ".global-cache"}  # cargo's own locks/db


def isolated_cargo_home() -> Path:
    """An empty CARGO_HOME with ``net.offline = true`` (shared by all sandboxes of this user)."""
    home = cache_dir() / "cargo-home"
    if not (home / "config.toml").exists():
        _write_cargo_home_config(home)
    return home


def _write_cargo_home_config(home: Path) -> None:
    """Write ``home/config.toml`` atomically (a reader never sees it half-written)."""
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f".config.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_text(CARGO_HOME_CONFIG)
    os.replace(tmp, home / "config.toml")


def reset_cargo_home(home: Path) -> list[str]:
    """Make cargogym's own CARGO_HOME hold only its config again (cargo's lock files aside) and
    return what was removed or rewritten. Test code outside the jail can write there: a
    ``config.toml`` with ``build.rustc-wrapper`` / ``target.*.runner`` or a ``bin/cargo-clippy``
    (cargo looks up subcommands in ``$CARGO_HOME/bin`` first) would run at grading time."""
    changed: list[str] = []
    try:
        entries = list(os.scandir(home))
    except FileNotFoundError:
        entries = []
    for entry in entries:
        if entry.name in CARGO_HOME_KEEP:
            continue
        if entry.name == "config.toml" and entry.is_file(follow_symlinks=False):
            try:
                if Path(entry.path).read_text() == CARGO_HOME_CONFIG:
                    continue
            except (OSError, UnicodeDecodeError):
                pass
        changed.append(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
    if not (home / "config.toml").is_file():
        _write_cargo_home_config(home)
    return changed


CARGO_CONFIG_NAMES = ("config.toml", "config")


def configs_above(cwd: str | os.PathLike) -> list[str]:
    """Cargo config files in the folders *above* ``cwd`` (a crate root): cargo reads every
    ancestor's ``.cargo/config[.toml]``, so one planted there changes how the crate is built and
    tested (``rustc-wrapper``, ``runner``, ``rustflags``, ``[env]``...)."""
    out: list[str] = []
    d = os.path.dirname(os.path.realpath(cwd))
    while True:
        for name in CARGO_CONFIG_NAMES:
            f = os.path.join(d, ".cargo", name)
            if os.path.lexists(f):
                out.append(f)
        parent = os.path.dirname(d)
        if parent == d:
            return out
        d = parent


_OPERATOR_CONFIGS: dict[str, tuple] | None = None  # cargo configs present before any command ran
_OPERATOR_LOCK = threading.Lock()


def _config_stat(f: str) -> tuple:
    try:
        st = os.lstat(f)
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def operator_config(f: str, first_cwd: str | os.PathLike) -> bool:
    """Whether ``f`` (a cargo config above a workspace) is the operator's own: it was there,
    unchanged since, when this process first checked - before any sandboxed code of this
    process ran (e.g. ``~/.cargo/config.toml`` above the cache where pristine copies are built).
    The first check records the configs above the cache, the workspace parent and ``first_cwd``."""
    global _OPERATOR_CONFIGS
    from cargogym.sandbox.workspace import default_parent

    with _OPERATOR_LOCK:
        if _OPERATOR_CONFIGS is None:
            found = [c for base in (cache_dir(), default_parent(), Path(first_cwd))
                     for c in configs_above(Path(base) / "x")]
            _OPERATOR_CONFIGS = {c: _config_stat(c) for c in found}
        return f in _OPERATOR_CONFIGS and _OPERATOR_CONFIGS[f] == _config_stat(f)


def _removable_config_dir(folder: str) -> bool:
    """Whether ``folder`` (holding a planted ``.cargo``) belongs to cargogym's workspace tree,
    where only sandboxed code can have put it: below the workspace parent, or the default parent
    itself. Other folders (a user's home...) are never cleaned, only refused."""
    from cargogym.sandbox.workspace import default_parent

    parent = os.path.realpath(default_parent())
    if folder != parent and _is_within(folder, parent):
        return True
    return folder == parent and not os.environ.get("CARGOGYM_WORKSPACES")


def base_env(cargo_home: Path | None = None) -> dict[str, str]:
    """The clean environment every sandboxed command starts from."""
    tc = toolchain()
    path = [tc["bin_dir"], "/usr/local/bin", "/usr/bin", "/bin"]
    env = {
        "PATH": ":".join(dict.fromkeys(path)),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "CARGO_HOME": str(cargo_home or isolated_cargo_home()),
        "CARGO_NET_OFFLINE": "true",
        "CARGO_TERM_COLOR": "never",
        "CARGO_TERM_PROGRESS_WHEN": "never",
        "CARGO_INCREMENTAL": "0",  # tiny crates: less CPU and half the target/ size (measured)
        "RUST_BACKTRACE": "0",
    }
    rustup_home = os.environ.get("RUSTUP_HOME") or str(Path(env["HOME"]) / ".rustup")
    if Path(rustup_home).is_dir():
        env["RUSTUP_HOME"] = rustup_home
    for key in ("RUSTUP_TOOLCHAIN", "TMPDIR"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    if os.environ.get("CARGOGYM_CARGO_JOBS"):  # set per rollout worker: share the cores, don't fight
        env["CARGO_BUILD_JOBS"] = os.environ["CARGOGYM_CARGO_JOBS"]
    return env


# -- output capture ------------------------------------------------------------------------------
class _CappedBuffer:
    """Keeps the first and last ``limit/2`` bytes written; counts the rest."""

    def __init__(self, limit: int) -> None:
        self.half = max(1, limit // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.half:  # amortised trim
                del self.tail[: len(self.tail) - self.half]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + min(len(self.tail), self.half)

    def text(self) -> str:
        tail = bytes(self.tail[-self.half:]) if self.tail else b""
        if self.truncated:
            dropped = self.total - len(self.head) - len(tail)
            mid = f"\n[... {dropped} bytes of output truncated by the sandbox ...]\n".encode()
            return (bytes(self.head) + mid + tail).decode("utf-8", "replace")
        return (bytes(self.head) + tail).decode("utf-8", "replace")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def communicate_capped(proc: subprocess.Popen, timeout: float, limit: int,
                       kill: "callable") -> tuple[bytes | str, str, bool, bool]:
    """Read stdout/stderr of ``proc`` until EOF or ``timeout``; returns (stdout, stderr,
    timed_out, truncated). ``kill()`` is called on timeout and after the main process exits (so
    that descendants holding the pipes cannot keep us waiting)."""
    bufs = {proc.stdout: _CappedBuffer(limit), proc.stderr: _CappedBuffer(limit)}
    sel = selectors.DefaultSelector()
    for f in bufs:
        os.set_blocking(f.fileno(), False)
        sel.register(f, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    timed_out = False
    exited_at: float | None = None
    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline and not timed_out:
                timed_out = True
                kill()
                deadline = now + 2.0  # drain what is left, bounded
            elif timed_out and now >= deadline:
                break
            if exited_at is None and proc.poll() is not None:
                exited_at = now
                kill()  # leftovers of the command must not outlive it
            wait = max(0.0, deadline - now)
            if exited_at is not None:
                wait = min(wait, max(0.0, exited_at + 2.0 - now))
                if now > exited_at + 2.0:
                    break
            for key, _ in sel.select(timeout=min(wait, 0.05)):
                f = key.fileobj
                try:
                    data = os.read(f.fileno(), 1 << 16)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(f)
                    continue
                bufs[f].write(data)
    finally:
        sel.close()
        for f in bufs:
            f.close()
    out, err = bufs[proc.stdout], bufs[proc.stderr]
    return out.text(), err.text(), timed_out, out.truncated or err.truncated


# -- pids cgroup ---------------------------------------------------------------------------------
_CG_COUNTER = itertools.count()


def _own_cgroup_dir(controller: str) -> Path | None:
    """``/sys/fs/cgroup/<controller>/<our path>`` (v1) or the unified dir (v2), if writable."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, rel = parts
        if controller in ctrls.split(","):
            base = Path("/sys/fs/cgroup") / controller
            d = base / rel.lstrip("/")
            if (d / "cgroup.procs").exists():
                return d
    for line in lines:  # cgroup v2
        if line.startswith("0::"):
            base = Path("/sys/fs/cgroup")
            d = base / line[3:].lstrip("/")
            ctrls = (d / "cgroup.controllers")
            if ctrls.exists() and controller in ctrls.read_text().split():
                return d
    return None


class PidsCgroup:
    """A pids cgroup below our own: caps processes+threads and kills everything inside."""

    PREFIX = "cargogym-"

    def __init__(self, max_pids: int) -> None:
        parent = _own_cgroup_dir("pids")
        if parent is None:
            raise OSError("no pids cgroup controller visible")
        self._cleanup_stale(parent)
        self.path = parent / f"{self.PREFIX}{os.getpid()}-{next(_CG_COUNTER)}"
        self.path.mkdir()
        try:
            (self.path / "pids.max").write_text(str(max_pids))
        except OSError:
            self.path.rmdir()
            raise

    @classmethod
    def _cleanup_stale(cls, parent: Path) -> None:
        for d in parent.glob(f"{cls.PREFIX}*"):
            try:
                pid = int(d.name[len(cls.PREFIX):].split("-")[0])
            except ValueError:
                continue
            if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
                cls._kill_and_remove(d)

    @staticmethod
    def _pids(path: Path) -> list[int]:
        try:
            return [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    @classmethod
    def _kill_and_remove(cls, path: Path, remove: bool = True) -> None:
        for child in [d for d in path.glob("run-*") if d.is_dir()]:
            cls._kill_and_remove(child, remove)
        for _ in range(50):
            pids = cls._pids(path)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.002)
        if remove:
            for _ in range(50):
                try:
                    path.rmdir()
                    return
                except FileNotFoundError:
                    return
                except OSError:
                    time.sleep(0.01)

    def kill_all(self) -> None:
        self._kill_and_remove(self.path, remove=False)

    def run_group(self) -> "_RunGroup":
        """A child cgroup for one command (the parent's pids.max still caps it), so concurrent
        commands of one sandbox never kill each other's processes."""
        return _RunGroup(self.path / f"run-{next(_CG_COUNTER)}")



    def close(self) -> None:
        self._kill_and_remove(self.path)


class _RunGroup:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir()

    def kill_all(self) -> None:
        PidsCgroup._kill_and_remove(self.path, remove=False)

    def close(self) -> None:
        PidsCgroup._kill_and_remove(self.path)


# -- local sandbox -------------------------------------------------------------------------------
class LocalSandbox:
    """Runs commands on this machine with rlimits, a pids cgroup, no network and capped output.

    ``isolate_network=False`` opts out of the network namespace (e.g. for debugging)."""

    name = "local"

    def __init__(self, limits: Limits | None = None, isolate_network: bool = True,
                 cargo_home: str | Path | None = None, use_cgroup: bool = True,
                 jail: bool | None = None, hide: list[str | Path] | None = None) -> None:
        self.limits = limits or Limits()
        self.hide = [os.path.realpath(p) for p in (default_hidden() if hide is None else hide)]
        self._closed = False
        self._lock = threading.Lock()
        self._cargo_home = Path(cargo_home) if cargo_home else None
        self.neutralised: list[str] = []  # planted cargo settings removed before commands
        self._env: dict[str, str] | None = None
        self._net_holder: subprocess.Popen | None = None
        self._net_prefix: list[str] = []
        self.network_isolated = False
        self.network_note = "network isolation disabled by caller"
        if isolate_network:
            self._setup_network()
        self._jail: str | None = None
        self._keep: list[str] = []  # never hidden: what the toolchain needs
        self.jail_note = "disabled by caller"
        if jail is not False:
            self._setup_jail(required=bool(jail))
        if self._jail is None:
            try:
                here = os.getcwd()
            except OSError:
                here = "/"
            operator_config("", here)  # what is above the workspaces before any command ran
        self._cgroup: PidsCgroup | None = None
        self.cgroup_note = "disabled by caller"
        if use_cgroup and self.limits.processes:
            try:
                self._cgroup = PidsCgroup(self.limits.processes)
                self.cgroup_note = f"pids cgroup {self._cgroup.path} (pids.max={self.limits.processes})"
            except OSError as e:
                self.cgroup_note = f"no pids cgroup ({e}); relying on RLIMIT_NPROC" + (
                    " (NOT enforced for root)" if os.geteuid() == 0 else "")

    # network ------------------------------------------------------------------------------
    def _setup_network(self) -> None:
        unshare = shutil.which("unshare")
        nsenter = shutil.which("nsenter")
        if unshare is None:
            self.network_note = "util-linux `unshare` not found; network NOT isolated"
            return
        if os.geteuid() == 0 and nsenter is not None:
            try:
                holder = subprocess.Popen([unshare, "-n", "cat"], stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          process_group=0)
                ns = f"/proc/{holder.pid}/ns/net"
                probe = subprocess.run([nsenter, f"--net={ns}", "true"], capture_output=True,
                                       timeout=10)
                if probe.returncode == 0 and holder.poll() is None and \
                        os.readlink(ns) != os.readlink("/proc/self/ns/net"):
                    self._net_holder = holder
                    self._net_prefix = [nsenter, f"--net={ns}", "--"]
                    self.network_isolated = True
                    self.network_note = "own network namespace (loopback only, down)"
                    return
                holder.kill()
                holder.wait()
                reason = (holder.stderr.read() or b"").decode(errors="replace").strip()
                self.network_note = f"kernel refused a network namespace: {reason or probe.stderr.decode(errors='replace').strip()}"
            except (OSError, subprocess.SubprocessError) as e:
                self.network_note = f"kernel refused a network namespace: {e}"
        try:  # unprivileged: user + network namespace per command
            probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=10)
            if probe.returncode == 0:
                self._net_prefix = [unshare, "-rn", "--"]
                self.network_isolated = True
                self.network_note = "user+network namespace per command (unshare -rn)"
                return
            self.network_note = ("kernel refused a network namespace (unshare -rn: "
                                 f"{probe.stderr.decode(errors='replace').strip()}); network NOT isolated")
        except (OSError, subprocess.SubprocessError) as e:
            self.network_note = f"kernel refused a network namespace ({e}); network NOT isolated"

    def _setup_jail(self, required: bool) -> None:
        if os.geteuid() != 0:
            self.jail_note = "not root: no private mount/PID namespaces (filesystem writable, processes visible)"
        else:
            try:
                from cargogym.sandbox.jail import jail_binary

                binary = str(jail_binary(toolchain()["rustc"], cache_dir() / "bin"))
                refused = None if binary in _JAIL_WORKS else _probe_jail(binary)
                if refused is None:
                    _JAIL_WORKS.add(binary)  # the kernel's answer does not change within a process
                    self._jail = binary
                    tc = toolchain()
                    self._keep = [os.path.realpath(p) for p in (tc["bin_dir"], tc["sysroot"],
                                  os.environ.get("RUSTUP_HOME") or Path.home() / ".rustup") if p]
                    self.jail_note = ("private mount+PID+IPC namespaces: read-only filesystem except the "
                                      "workspace and a private /tmp; hidden: " + ", ".join(self.hide)
                                      + " and registered task sources/tasks files; no capabilities")
                    return
                self.jail_note = f"jail refused by the kernel: {refused}"
            except Exception as e:  # compile failure, missing rustc, ...
                self.jail_note = f"jail unavailable: {e}"
        if required:
            raise SandboxError(self.jail_note)

    def _jail_argv(self, argv: list[str], cwd: str, cgroup: Path | None) -> list[str]:
        lim = self.limits
        out = [self._jail]  # type: ignore[list-item]
        if cgroup is not None:
            out += ["--cgroup", str(cgroup)]
        for name, val in (("cpu", lim.cpu_seconds), ("as", lim.address_space), ("fsize", lim.file_size),
                          ("nofile", lim.open_files), ("core", 0)):
            if val is not None:
                out += ["--rlimit", f"{name}={int(val)}"]
        if self._net_holder is not None:
            out += ["--netns", f"/proc/{self._net_holder.pid}/ns/net"]
        elif self.network_isolated:
            out += ["--newnet"]
        out += ["--isolate", "--dropcaps", "--rw", cwd]

        def contains(base: str) -> bool:
            return cwd == base or cwd.startswith(base.rstrip("/") + "/")

        tmpfs = [] if contains("/tmp") else ["/tmp"]
        for t in tmpfs:
            out += ["--tmpfs", t]
        # a hidden path under a fresh tmpfs (e.g. CARGOGYM_CACHE=/tmp/...) is hidden already;
        # the jail could not mount over it (it no longer exists there)
        wanted = [h for h in self.hidden() if not any(_is_within(h, t) for t in tmpfs)]
        folders, files = hide_plan(wanted, keep=[cwd, *self._keep])
        for h in folders + files:
            out += ["--hide", h]
        return out + ["--", *argv]

    def hidden(self) -> list[str]:
        """What jailed commands cannot read: the sandbox's own list plus every path registered
        with :func:`hide_from_sandboxes` (task source repositories, tasks files)."""
        return list(dict.fromkeys([*self.hide, *registered_hidden()]))

    # running ------------------------------------------------------------------------------
    def _prologue(self, cgroup: Path | None) -> str:
        lim = self.limits
        lines = []
        if cgroup is not None:
            procs = shlex.quote(str(cgroup / "cgroup.procs"))
            lines.append(f"echo $$ > {procs} || exit 125")
        if lim.cpu_seconds:
            lines.append(f"ulimit -t {int(lim.cpu_seconds)}")
        if lim.address_space:
            lines.append(f"ulimit -v {int(lim.address_space) // 1024}")
        if lim.file_size:
            lines.append(f"ulimit -f {max(1, int(lim.file_size) // 512)}")
        if lim.open_files:
            lines.append(f"ulimit -n {int(lim.open_files)}")
        if lim.processes and os.geteuid() != 0:
            lines.append(f"ulimit -p {int(lim.processes)}")
        lines.append('exec "$@"')
        return "\n".join(lines)

    def env(self) -> dict[str, str]:
        if self._env is None:
            self._env = base_env(self._cargo_home)
        return dict(self._env)

    def run(self, argv: list[str], cwd: str | Path, timeout: float = 60.0,
            env: dict[str, str] | None = None) -> ExecResult:
        if self._closed:
            raise SandboxError("sandbox is closed")
        if not argv:
            raise SandboxError("empty command")
        full_env = self.env()
        if env:
            full_env.update(env)
        neutralised = self._guard_cargo_settings(cwd)
        group = None
        if self._cgroup is not None:
            try:
                group = self._cgroup.run_group()
            except OSError as e:
                raise SandboxError(f"cannot create a pids cgroup for the command: {e}") from e
        cg_path = group.path if group is not None else None
        if self._jail is not None:
            cmd = self._jail_argv(argv, os.path.realpath(str(cwd)), cg_path)
        else:
            cmd = ["/bin/sh", "-c", self._prologue(cg_path), "cargogym-sandbox", *self._net_prefix, *argv]
        start = time.monotonic()
        try:
            proc = subprocess.Popen(cmd, cwd=str(cwd), env=full_env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    process_group=0, close_fds=True)
        except OSError as e:
            if group is not None:
                group.close()
            return ExecResult(127, "", f"sandbox: cannot start {argv[0]}: {e}",
                              False, time.monotonic() - start, False)
        pgid = proc.pid

        def kill() -> None:
            _kill_group(pgid)
            if group is not None:
                group.kill_all()

        try:
            out, err, timed_out, truncated = communicate_capped(
                proc, timeout, self.limits.output_limit, kill)
        finally:
            kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if group is not None:
                group.close()
        code = proc.returncode
        if code == 125 and self._cgroup is not None and "cgroup" in err:
            err += "\nsandbox: could not join the pids cgroup"
        if timed_out:
            err += f"\nsandbox: timed out after {timeout:.1f}s; process group killed"
        if neutralised:
            err += "\nsandbox: removed planted cargo settings before running: " + ", ".join(neutralised)
        return ExecResult(None if timed_out else code, out, err, timed_out,
                          time.monotonic() - start, truncated)

    def _guard_cargo_settings(self, cwd: str | Path) -> list[str]:
        """Before each command: remove ``.cargo/config*`` planted above ``cwd`` in cargogym's
        workspace tree (cargo reads every ancestor's). Outside the jail test code can write
        anywhere this user can, so there also reset cargogym's own CARGO_HOME and refuse
        (:class:`SandboxError`) a config above ``cwd`` elsewhere unless it is the operator's
        (:func:`operator_config`). Returns what was removed."""
        jailed = self._jail is not None
        removed = reset_cargo_home(isolated_cargo_home()) if self._cargo_home is None and not jailed else []
        for f in configs_above(cwd):
            folder = os.path.dirname(os.path.dirname(f))
            if _removable_config_dir(folder):
                shutil.rmtree(os.path.join(folder, ".cargo"), ignore_errors=True)
                removed.append(f)
            elif not jailed and not operator_config(f, cwd):
                raise SandboxError(
                    f"refusing to run in {cwd}: cargo would read {f}, a config above the crate that "
                    "appeared or changed after this process started (test code outside the jail can "
                    "plant one to change how crates are built and tested); remove it")
        self.neutralised += removed
        return removed

    @property
    def process_capped(self) -> bool:
        """Whether a fork bomb meets a real cap: the pids cgroup, or RLIMIT_NPROC for non-root."""
        return self._cgroup is not None or (bool(self.limits.processes) and os.geteuid() != 0)

    def info(self) -> dict:
        lim = self.limits
        return {
            "name": self.name,
            "network_isolated": self.network_isolated,
            "network": self.network_note,
            "process_limit": self.cgroup_note,
            "process_capped": self.process_capped,
            "filesystem": self.jail_note,
            "jailed": self._jail is not None,
            "rlimits": {
                "cpu_seconds": lim.cpu_seconds, "address_space": lim.address_space,
                "file_size": lim.file_size, "open_files": lim.open_files,
                "processes": lim.processes,
            },
            "output_limit": lim.output_limit,
            "cargo_home": self.env()["CARGO_HOME"],
            "uid": os.geteuid(),
        }

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._cgroup is not None:
            self._cgroup.close()
        if self._net_holder is not None:
            try:
                self._net_holder.stdin.close()
            except OSError:
                pass
            try:
                self._net_holder.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._net_holder.kill()
                self._net_holder.wait()
            self._net_holder = None

    def __enter__(self) -> "LocalSandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # best effort; close() is the contract
        try:
            self.close()
        except Exception:
            pass


def make_sandbox(kind: str = "local", **kwargs) -> Sandbox:
    """``"local"`` (default, no daemon) or ``"docker"`` (Docker SDK, needs an engine)."""
    if kind == "local":
        return LocalSandbox(**kwargs)
    if kind == "docker":
        from cargogym.sandbox.docker_backend import DockerSandbox

        return DockerSandbox(**kwargs)
    raise SandboxError(f"unknown sandbox kind {kind!r}; expected 'local' or 'docker'")
