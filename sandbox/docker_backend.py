"""Docker backend: locked-down containers, one per workspace, commands via ``exec``.

Each container (Docker SDK for Python) runs ``sleep infinity`` with ``network_mode="none"``, a
read-only root filesystem, memory / CPU / pids limits, ``no-new-privileges``, all capabilities
dropped and a tmpfs ``/tmp``. It sees exactly **one workspace**: the command's ``cwd`` (the crate
root) bind-mounted read-write at the same path, so paths in cargo's output are the host's. No
other workspace (another worker's, the grading copy) and no folder above it is shared with the
host: test code cannot edit another workspace or plant ``.cargo/config.toml`` where a later
grading run would read it. Containers are made on a workspace's first command (~0.3 s) and kept
in a small LRU (``max_containers``); an evicted one is simply made again.

Every command starts clean: the wrapper shell empties ``/tmp`` (never descending into a
bind-mounted workspace: ``find -xdev``), removes ``.cargo`` from every folder above the
workspace (container-private folders; cargo would read a config planted there), and writes a
fresh ``CARGO_HOME`` (``/tmp/cargo-home``, offline) - so nothing a command's code leaves behind
changes how the next command builds or tests.

Images. No registry is reachable on the machines this was built on, so by default the image is
made locally and offline: an empty image (``docker import`` of an empty tar, tag
``cargogym-empty:<hash>``) that gets the host's ``/usr /lib /lib64 /bin /sbin /etc`` and the
Rust toolchain (``~/.rustup``, ``~/.cargo``) as read-only bind mounts. With a registry, pass
``image="rust:1-slim"`` (any image with cargo on PATH) and ``host_system=False``.

Workspaces. A bind of the crate folder made when the container starts captures an overlay
workspace as it is then, so no mount propagation is needed; copy workspaces work the same.

Timeouts: the command runs under ``timeout -s KILL`` inside the container, and when it ends the
wrapper shell kills everything but the container's init (``kill -9 -1``), so nothing outlives a
command; runs of one sandbox are serialised.
"""

from __future__ import annotations

import io
import os
import secrets
import shlex
import tarfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

from cargogym.sandbox.exec import (CARGO_HOME_CONFIG, ExecResult, Limits, SandboxError, _CappedBuffer, base_env,
                                   toolchain)

EMPTY_IMAGE = "cargogym-empty:latest"
LABEL = "cargogym.sandbox"
HOST_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")
CARGO_HOME_IN_CONTAINER = "/tmp/cargo-home"


def docker_client(timeout: float = 10.0):
    """A connected Docker client, or :class:`SandboxError` saying why there is none."""
    try:
        import docker
    except ImportError as e:  # pragma: no cover - docker is a dependency
        raise SandboxError(f"the docker Python package is not installed: {e}") from e
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
        return client
    except Exception as e:
        raise SandboxError(f"no Docker engine reachable ({type(e).__name__}: {e}); start one "
                           "(e.g. `dockerd --iptables=false --bridge=none &`) or use sandbox='local'") from e


def ensure_empty_image(client) -> str:
    """The offline base image, imported once: an empty root filesystem plus the host's top-level
    symlinks (``/bin -> usr/bin`` on merged-/usr systems) so the bind-mounted system works."""
    links = {d.lstrip("/"): os.readlink(d) for d in HOST_SYSTEM_DIRS if os.path.islink(d)}
    tag = "h" + __import__("hashlib").sha256(repr(sorted(links.items())).encode()).hexdigest()[:10]
    name = f"{EMPTY_IMAGE.split(':')[0]}:{tag}"
    try:
        client.images.get(name)
        return name
    except Exception:
        pass
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for src, dst in links.items():
            info = tarfile.TarInfo(src)
            info.type = tarfile.SYMTYPE
            info.linkname = dst
            tar.addfile(info)
    client.api.import_image_from_data(buf.getvalue(), repository=name.split(":")[0], tag=tag)
    return name


def command_script(root: str, timeout: float) -> str:
    """The wrapper shell of one command (``$@`` = the command): clean /tmp, no ``.cargo`` above
    ``root`` (the bind-mounted workspace, ``""`` for none), a fresh CARGO_HOME, the command under
    a KILL timeout, then kill whatever it left behind. Pure."""
    home = CARGO_HOME_IN_CONTAINER
    return "\n".join([
        "find /tmp -xdev -mindepth 1 -depth -delete 2>/dev/null",
        f"d={shlex.quote(root)}",
        'while [ -n "$d" ] && [ "$d" != / ]; do d=$(dirname "$d"); rm -rf "${d%/}/.cargo" 2>/dev/null; done',
        f"mkdir -p {home} && printf %s {shlex.quote(CARGO_HOME_CONFIG)} > {home}/config.toml || exit 125",
        f'timeout -s KILL {max(1.0, timeout):.1f} "$@"; rc=$?; kill -9 -1 2>/dev/null; exit $rc',
    ])


class DockerSandbox:
    """Commands run with ``docker exec`` in locked-down containers, one per workspace."""

    name = "docker"

    def __init__(self, image: str | None = None, limits: Limits | None = None,
                 memory: str = "4g", cpus: float = 2.0, host_system: bool | None = None,
                 extra_mounts: dict[str, str] | None = None, max_containers: int = 4,
                 client=None) -> None:
        from docker.types import Mount, Ulimit

        self.limits = limits or Limits()
        self.client = client or docker_client()
        self._cleanup_stale()
        self.image = image or ensure_empty_image(self.client)
        self.host_system = (image is None) if host_system is None else host_system
        tc = toolchain()
        mounts = []
        if self.host_system:
            mounts += [Mount(d, d, type="bind", read_only=True) for d in HOST_SYSTEM_DIRS
                       if os.path.isdir(d) and not os.path.islink(d)]
        home = Path(os.environ.get("HOME", "/root"))
        for d in {str(home / ".rustup"), str(home / ".cargo"), str(Path(tc["bin_dir"]).parent)}:
            if os.path.isdir(d) and not any(d.startswith(m["Target"] + "/") for m in mounts):
                mounts.append(Mount(d, d, type="bind", read_only=True))
        for src, dst in (extra_mounts or {}).items():
            mounts.append(Mount(dst, src, type="bind", read_only=True))
        self._base_mounts = mounts
        ulimits = [Ulimit(name="nofile", soft=self.limits.open_files or 1024, hard=self.limits.open_files or 1024),
                   Ulimit(name="core", soft=0, hard=0)]
        if self.limits.file_size:
            ulimits.append(Ulimit(name="fsize", soft=self.limits.file_size, hard=self.limits.file_size))
        if self.limits.cpu_seconds:
            ulimits.append(Ulimit(name="cpu", soft=self.limits.cpu_seconds, hard=self.limits.cpu_seconds))
        self._ulimits = ulimits
        self._env = base_env(Path(CARGO_HOME_IN_CONTAINER))
        self.memory, self.cpus = memory, cpus
        self.max_containers = max(1, int(max_containers))
        # bound root ("" = none) -> (container, (st_dev, st_ino) of the root when bound)
        self._containers: OrderedDict[str, tuple[object, tuple]] = OrderedDict()
        self._closed = False
        self._lock = threading.Lock()
        # the container of the latest command; the first one is made now: fail early without one
        self.container = self._container_for("/tmp")[1]

    def _bind_root(self, cwd: str) -> str:
        """The folder to bind for a command in ``cwd``: the folder itself, or ``""`` for one the
        container has anyway (``/``, ``/tmp``, the read-only system and toolchain mounts) or
        that does not exist on the host."""
        real = os.path.realpath(cwd)
        if real in ("/", "/tmp") or not os.path.isdir(real):
            return ""
        if any(real == m["Target"] or real.startswith(m["Target"].rstrip("/") + "/") for m in self._base_mounts):
            return ""
        return real

    def _container_for(self, cwd: str):
        """(bound root, container) for a command in ``cwd``: an existing container whose
        workspace holds ``cwd``, else a new one (the least recently used is removed past
        ``max_containers``)."""
        from docker.types import Mount

        root = self._bind_root(cwd)
        for r in list(self._containers):
            if r == root or (r and root.startswith(r + "/")):
                container, ident = self._containers[r]
                if ident == _identity(r):
                    self._containers.move_to_end(r)
                    return r, container
                del self._containers[r]  # a new folder (or mount) at the same path: bind it afresh
                _remove(container)
        mounts = list(self._base_mounts)
        if root:
            mounts.append(Mount(root, root, type="bind", read_only=False))
        name = f"cargogym-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            container = self.client.containers.run(
                self.image, command=["/bin/sleep", "infinity"] if self.host_system else ["sleep", "infinity"],
                name=name, detach=True, network_mode="none", read_only=True, mounts=mounts,
                tmpfs={"/tmp": "rw,exec,size=1g"}, mem_limit=self.memory, memswap_limit=self.memory,
                nano_cpus=int(self.cpus * 1e9), pids_limit=self.limits.processes or 256, ulimits=self._ulimits,
                security_opt=["no-new-privileges"], cap_drop=["ALL"], init=False,
                labels={LABEL: "1", f"{LABEL}.pid": str(os.getpid())}, environment=self._env,
                working_dir="/tmp")
        except Exception as e:
            raise SandboxError(f"could not start the sandbox container from {self.image}: {e}") from e
        self._containers[root] = (container, _identity(root))
        while len(self._containers) > self.max_containers:
            _, (old, _) = self._containers.popitem(last=False)
            _remove(old)
        return root, container

    # -- housekeeping --------------------------------------------------------------------------
    def _cleanup_stale(self) -> None:
        """Remove containers left by dead processes of this machine."""
        try:
            for c in self.client.containers.list(all=True, filters={"label": LABEL}):
                pid = c.labels.get(f"{LABEL}.pid", "")
                if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
                    c.remove(force=True)
        except Exception:
            pass

    # -- running -----------------------------------------------------------------------------
    def run(self, argv: list[str], cwd: str | Path, timeout: float = 60.0,
            env: dict[str, str] | None = None) -> ExecResult:
        if self._closed:
            raise SandboxError("sandbox is closed")
        if not argv:
            raise SandboxError("empty command")
        full_env = dict(self._env)
        if env:
            full_env.update(env)
        limit = self.limits.output_limit
        start = time.monotonic()
        api = self.client.api
        with self._lock:
            try:
                root, container = self._container_for(str(cwd))
            except SandboxError as e:
                return ExecResult(127, "", f"sandbox: {e}", False, time.monotonic() - start, False)
            self.container = container
            cmd = ["/bin/sh", "-c", command_script(root, timeout), "cargogym-sandbox", *argv]
            try:
                ex = api.exec_create(container.id, cmd, workdir=str(cwd), environment=full_env,
                                     stdout=True, stderr=True)
                stream = api.exec_start(ex["Id"], stream=True, demux=True)
            except Exception as e:
                return ExecResult(127, "", f"sandbox: docker exec failed: {e}", False,
                                  time.monotonic() - start, False)
            out, err = _CappedBuffer(limit), _CappedBuffer(limit)
            done = threading.Event()

            def pump() -> None:
                try:
                    for o, e in stream:
                        if o:
                            out.write(o)
                        if e:
                            err.write(e)
                except Exception:
                    pass
                finally:
                    done.set()

            t = threading.Thread(target=pump, daemon=True)
            t.start()
            timed_out = not done.wait(timeout + 5.0)
            info = api.exec_inspect(ex["Id"])
            code = info.get("ExitCode")
            if code == 137 and time.monotonic() - start >= timeout:
                timed_out = True
            if timed_out:  # the exec itself hung: kill everything but the container's init
                self._kill_all(container)
            done.wait(5.0)
        stderr = err.text()
        if timed_out:
            stderr += f"\nsandbox: timed out after {timeout:.1f}s; processes killed"
        elif code is not None and code > 128 and code != 137:
            code = -(code - 128)  # killed by a signal inside the container
        elif code == 137:
            code = -9
        return ExecResult(None if timed_out else code, out.text(), stderr, timed_out,
                          time.monotonic() - start, out.truncated or err.truncated)

    def _kill_all(self, container) -> None:
        try:
            self.client.api.exec_start(self.client.api.exec_create(
                container.id, ["/bin/sh", "-c", "kill -9 -1 2>/dev/null; true"])["Id"])
        except Exception:
            pass

    def info(self) -> dict:
        lim = self.limits
        return {
            "name": self.name, "image": self.image,
            "container": self.container.name if self.container is not None else None,
            "containers": len(self._containers),
            "network_isolated": True, "network": "network_mode=none",
            "read_only_root": True, "memory": self.memory, "cpus": self.cpus,
            "process_limit": f"pids_limit={lim.processes or 256}", "process_capped": True,
            "rlimits": {"cpu_seconds": lim.cpu_seconds, "file_size": lim.file_size, "open_files": lim.open_files},
            "output_limit": lim.output_limit,
            "filesystem": ("one container per workspace: only that workspace is writable (bound at its own "
                           "path); /tmp, CARGO_HOME and .cargo above the workspace reset before every command"),
            "jailed": True,
        }

    def close(self) -> None:
        if getattr(self, "_closed", True):
            return
        self._closed = True
        while self._containers:
            _remove(self._containers.popitem()[1][0])

    def __enter__(self) -> "DockerSandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _remove(container) -> None:
    try:
        container.remove(force=True)
    except Exception:
        pass


def _identity(root: str) -> tuple:
    """(device, inode) of a bound folder: another workspace made later at the same path differs."""
    if not root:
        return ()
    try:
        st = os.stat(root)
    except OSError:
        return ("gone",)
    return (st.st_dev, st.st_ino)
