"""Docker backend: one long-lived container per sandbox (per worker), commands via ``exec``.

The container (Docker SDK for Python) runs ``sleep infinity`` with ``network_mode="none"``, a
read-only root filesystem, memory / CPU / pids limits, ``no-new-privileges``, all capabilities
dropped, a tmpfs ``/tmp`` and the workspace parent folder mounted read-write at the same path, so
cargo's fingerprints from the host pre-build stay valid.

Images. No registry is reachable on the machines this was built on, so by default the image is
made locally and offline: an empty image (``docker import`` of an empty tar, tag
``cargogym-empty:latest``) that gets the host's ``/usr /lib /lib64 /bin /sbin /etc`` and the
Rust toolchain (``~/.rustup``, ``~/.cargo``) as read-only bind mounts. With a registry, pass
``image="rust:1-slim"`` (any image with cargo on PATH) and ``host_system=False``.

Workspaces. Overlay workspaces are mounts made on the host after the container started; to see
them inside, the workspace parent is made a shared mount on the host (a bind of the folder onto
itself, ``MS_SHARED``) and bound with ``rslave`` propagation. Where that is not possible use
``WorkspaceManager(mode="copy")``; ``info()`` says which.

Timeouts: the command runs under ``timeout -s KILL`` inside the container, and when it ends the
wrapper shell kills everything but the container's init (``kill -9 -1``), so nothing outlives a
command; runs of one sandbox are serialised.
"""

from __future__ import annotations

import io
import os
import secrets
import tarfile
import threading
import time
from pathlib import Path

from cargogym.sandbox.exec import ExecResult, Limits, SandboxError, _CappedBuffer, base_env, toolchain

EMPTY_IMAGE = "cargogym-empty:latest"
LABEL = "cargogym.sandbox"
HOST_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")


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


def make_shared_mount(path: Path) -> tuple[bool, str]:
    """See :func:`cargogym.sandbox.workspace.ensure_shared_parent`."""
    from cargogym.sandbox.workspace import ensure_shared_parent

    ok, note = ensure_shared_parent(path)
    return ok, note if ok else note + "; use WorkspaceManager(mode='copy') with this backend"


class DockerSandbox:
    """Commands run with ``docker exec`` in one reused, locked-down container."""

    name = "docker"

    def __init__(self, image: str | None = None, limits: Limits | None = None,
                 memory: str = "4g", cpus: float = 2.0, host_system: bool | None = None,
                 workspace_parent: str | Path | None = None, extra_mounts: dict[str, str] | None = None,
                 client=None) -> None:
        from docker.types import Mount, Ulimit

        from cargogym.sandbox.workspace import default_parent

        self.limits = limits or Limits()
        self.client = client or docker_client()
        self._cleanup_stale()
        self.image = image or ensure_empty_image(self.client)
        host_system = (image is None) if host_system is None else host_system
        self.workspace_parent = Path(workspace_parent) if workspace_parent else default_parent()
        self.shared, self.shared_note = make_shared_mount(self.workspace_parent)
        tc = toolchain()
        mounts = []
        if host_system:
            mounts += [Mount(d, d, type="bind", read_only=True) for d in HOST_SYSTEM_DIRS
                       if os.path.isdir(d) and not os.path.islink(d)]
        home = Path(os.environ.get("HOME", "/root"))
        for d in {str(home / ".rustup"), str(home / ".cargo"), str(Path(tc["bin_dir"]).parent)}:
            if os.path.isdir(d) and not any(d.startswith(m["Target"] + "/") for m in mounts):
                mounts.append(Mount(d, d, type="bind", read_only=True))
        mounts.append(Mount(str(self.workspace_parent), str(self.workspace_parent), type="bind",
                            read_only=False, propagation="rslave" if self.shared else "rprivate"))
        for src, dst in (extra_mounts or {}).items():
            mounts.append(Mount(dst, src, type="bind", read_only=True))
        ulimits = [Ulimit(name="nofile", soft=self.limits.open_files or 1024, hard=self.limits.open_files or 1024),
                   Ulimit(name="core", soft=0, hard=0)]
        if self.limits.file_size:
            ulimits.append(Ulimit(name="fsize", soft=self.limits.file_size, hard=self.limits.file_size))
        if self.limits.cpu_seconds:
            ulimits.append(Ulimit(name="cpu", soft=self.limits.cpu_seconds, hard=self.limits.cpu_seconds))
        self._env = base_env(Path("/tmp/cargo-home"))
        self.memory, self.cpus = memory, cpus
        name = f"cargogym-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            self.container = self.client.containers.run(
                self.image, command=["/bin/sleep", "infinity"] if host_system else ["sleep", "infinity"],
                name=name, detach=True, network_mode="none", read_only=True, mounts=mounts,
                tmpfs={"/tmp": "rw,exec,size=1g"}, mem_limit=memory, memswap_limit=memory,
                nano_cpus=int(cpus * 1e9), pids_limit=self.limits.processes or 256, ulimits=ulimits,
                security_opt=["no-new-privileges"], cap_drop=["ALL"], init=False,
                labels={LABEL: "1", f"{LABEL}.pid": str(os.getpid())}, environment=self._env,
                working_dir="/tmp")
        except Exception as e:
            raise SandboxError(f"could not start the sandbox container from {self.image}: {e}") from e
        self._closed = False
        self._lock = threading.Lock()

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
        # sh runs the command under a KILL timeout, then kills whatever it left behind
        script = f'timeout -s KILL {max(1.0, timeout):.1f} "$@"; rc=$?; kill -9 -1 2>/dev/null; exit $rc'
        cmd = ["/bin/sh", "-c", script, "cargogym-sandbox", *argv]
        start = time.monotonic()
        api = self.client.api
        with self._lock:
            try:
                ex = api.exec_create(self.container.id, cmd, workdir=str(cwd), environment=full_env,
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
                self._kill_all()
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

    def _kill_all(self) -> None:
        try:
            self.client.api.exec_start(self.client.api.exec_create(
                self.container.id, ["/bin/sh", "-c", "kill -9 -1 2>/dev/null; true"])["Id"])
        except Exception:
            pass

    def info(self) -> dict:
        lim = self.limits
        return {
            "name": self.name, "image": self.image, "container": self.container.name,
            "network_isolated": True, "network": "network_mode=none",
            "read_only_root": True, "memory": self.memory, "cpus": self.cpus,
            "process_limit": f"pids_limit={lim.processes}",
            "rlimits": {"cpu_seconds": lim.cpu_seconds, "file_size": lim.file_size, "open_files": lim.open_files},
            "output_limit": lim.output_limit, "workspaces": self.shared_note,
        }

    def close(self) -> None:
        if getattr(self, "_closed", True):
            return
        self._closed = True
        try:
            self.container.remove(force=True)
        except Exception:
            pass

    def __enter__(self) -> "DockerSandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
