"""``cargogym-jail``: a tiny std-only Rust launcher that confines one command (root only).

Why a compiled helper: spawning from a big Python process with a ``preexec_fn`` costs ~70 ms
(fork of a 2 GB parent), and a chain of util-linux tools (unshare, mount x20, setpriv) costs
tens of ms per command. One exec of this helper does everything in ~1-2 ms. It is compiled once
with the toolchain cargogym needs anyway (``rustc``), cached in ``<cache>/bin``.

What it does, in order (flags given by :class:`~cargogym.sandbox.exec.LocalSandbox`):

1. joins the sandbox's pids cgroup (fork-bomb cap, kill-all), sets rlimits (CPU, AS, FSIZE,
   NOFILE, NPROC, CORE=0), joins the sandbox's network namespace (``setns``);
2. ``unshare``s mount, PID, IPC and UTS namespaces and forks: the child is PID 1 of a fresh PID
   namespace (it cannot see or signal any process outside; when it exits, the kernel kills every
   process left in the namespace) and dies with the launcher (``PR_SET_PDEATHSIG``);
3. in its private mount namespace: bind-mounts the writable paths (the command's cwd, i.e. the
   workspace) onto themselves, mounts a fresh ``/proc``, a private ``/tmp`` and empty tmpfs over
   hidden folders (the pre-built pristine crates = the fixes, the cargogym checkout with its task
   files, imported tasks' source repositories; ``/dev/null`` over a hidden file), then remounts
   **every other mount read-only**;
4. drops all capabilities (bounding set, ambient, capset, ``SECBIT_NOROOT``) and sets
   ``no_new_privs``: uid 0 without capabilities cannot mount, remount, change limits or cgroups;
5. ``execvp``s the command. The launcher relays its exit status (128+signal for a signal).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from pathlib import Path

JAIL_RS = r'''
use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_long, c_ulong, c_void};

extern "C" {
    fn mount(src: *const c_char, target: *const c_char, fstype: *const c_char, flags: c_ulong, data: *const c_void) -> c_int;
    fn unshare(flags: c_int) -> c_int;
    fn setns(fd: c_int, nstype: c_int) -> c_int;
    fn fork() -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn prctl(option: c_int, a2: c_ulong, a3: c_ulong, a4: c_ulong, a5: c_ulong) -> c_int;
    fn setrlimit(resource: c_int, rlim: *const [u64; 2]) -> c_int;
    fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
    fn syscall(num: c_long, ...) -> c_long;
    fn chdir(path: *const c_char) -> c_int;
    fn _exit(code: c_int) -> !;
    fn signal(sig: c_int, handler: usize) -> usize;
    fn raise(sig: c_int) -> c_int;
}

const CLONE_NEWNS: c_int = 0x00020000;
const CLONE_NEWUTS: c_int = 0x04000000;
const CLONE_NEWIPC: c_int = 0x08000000;
const CLONE_NEWPID: c_int = 0x20000000;
const CLONE_NEWNET: c_int = 0x40000000;
const MS_RDONLY: c_ulong = 1;
const MS_NOSUID: c_ulong = 2;
const MS_NODEV: c_ulong = 4;
const MS_NOEXEC: c_ulong = 8;
const MS_REMOUNT: c_ulong = 32;
const MS_NOATIME: c_ulong = 1024;
const MS_NODIRATIME: c_ulong = 2048;
const MS_BIND: c_ulong = 4096;
const MS_REC: c_ulong = 16384;
const MS_PRIVATE: c_ulong = 1 << 18;
const MS_RELATIME: c_ulong = 1 << 21;
const MS_STRICTATIME: c_ulong = 1 << 24;
#[cfg(target_arch = "x86_64")]
const SYS_CAPSET: c_long = 126;
#[cfg(target_arch = "aarch64")]
const SYS_CAPSET: c_long = 91;

fn die(msg: &str) -> ! {
    eprintln!("cargogym-jail: {}: {}", msg, std::io::Error::last_os_error());
    unsafe { _exit(125) }
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| die("NUL byte in argument"))
}

fn unescape(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let oct = &s[i + 1..i + 4];
            if let Ok(v) = u8::from_str_radix(oct, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn under(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    path == base || (path.starts_with(base) && path.as_bytes().get(base.len()) == Some(&b'/')) || base.is_empty()
}

struct Opts {
    cgroup: Option<String>,
    rlimits: Vec<(c_int, u64)>,
    netns: Option<String>,
    newnet: bool,
    isolate: bool,
    rw: Vec<String>,
    tmpfs: Vec<String>,
    hide: Vec<String>,
    dropcaps: bool,
    cmd: Vec<String>,
}

fn parse() -> Opts {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Opts { cgroup: None, rlimits: vec![], netns: None, newnet: false, isolate: false,
                       rw: vec![], tmpfs: vec![], hide: vec![], dropcaps: false, cmd: vec![] };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let val = |i: usize| -> String { args.get(i + 1).cloned().unwrap_or_else(|| die("missing option value")) };
        match a {
            "--" => { o.cmd = args[i + 1..].to_vec(); break; }
            "--cgroup" => { o.cgroup = Some(val(i)); i += 1; }
            "--netns" => { o.netns = Some(val(i)); i += 1; }
            "--newnet" => { o.newnet = true; }
            "--isolate" => { o.isolate = true; }
            "--rw" => { o.rw.push(val(i)); i += 1; }
            "--tmpfs" => { o.tmpfs.push(val(i)); i += 1; }
            "--hide" => { o.hide.push(val(i)); i += 1; }
            "--dropcaps" => { o.dropcaps = true; }
            "--rlimit" => {
                let v = val(i); i += 1;
                let (k, n) = v.split_once('=').unwrap_or_else(|| die("bad --rlimit"));
                let res = match k { "cpu" => 0, "fsize" => 1, "core" => 4, "nproc" => 6, "nofile" => 7, "as" => 9, _ => die("bad rlimit name") };
                o.rlimits.push((res, n.parse().unwrap_or_else(|_| die("bad rlimit value"))));
            }
            _ => die("unknown option"),
        }
        i += 1;
    }
    if o.cmd.is_empty() { die("no command"); }
    o
}

fn flags_of(opts: &str) -> c_ulong {
    let mut f = 0;
    for o in opts.split(',') {
        f |= match o { "nosuid" => MS_NOSUID, "nodev" => MS_NODEV, "noexec" => MS_NOEXEC, "noatime" => MS_NOATIME,
                       "nodiratime" => MS_NODIRATIME, "relatime" => MS_RELATIME, "strictatime" => MS_STRICTATIME, _ => 0 };
    }
    f
}

fn setup_mounts(o: &Opts) {
    let null = std::ptr::null();
    unsafe {
        if mount(null, cstr("/").as_ptr(), null, MS_REC | MS_PRIVATE, null as *const c_void) != 0 { die("make / private"); }
        for p in &o.rw {
            let c = cstr(p);
            if mount(c.as_ptr(), c.as_ptr(), null, MS_BIND | MS_REC, null as *const c_void) != 0 { die("bind writable path"); }
        }
        let proc_ = cstr("/proc");
        if mount(cstr("proc").as_ptr(), proc_.as_ptr(), cstr("proc").as_ptr(), MS_NOSUID | MS_NODEV | MS_NOEXEC, null as *const c_void) != 0 {
            die("mount /proc");
        }
        for p in o.tmpfs.iter().chain(o.hide.iter()) {
            if std::fs::symlink_metadata(p).map(|m| m.is_file()).unwrap_or(false) {
                // a hidden file (a tasks file): /dev/null over it reads as empty
                if mount(cstr("/dev/null").as_ptr(), cstr(p).as_ptr(), null, MS_BIND, null as *const c_void) != 0 {
                    die("hide file");
                }
                continue;
            }
            let data = cstr("mode=1777,size=268435456");
            if mount(cstr("tmpfs").as_ptr(), cstr(p).as_ptr(), cstr("tmpfs").as_ptr(), MS_NOSUID | MS_NODEV, data.as_ptr() as *const c_void) != 0 {
                die("mount tmpfs");
            }
        }
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_else(|_| die("read mountinfo"));
        let mut root_ro = false;
        for line in info.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() < 6 { continue; }
            let mp = unescape(f[4]);
            if o.rw.iter().any(|w| under(&mp, w)) || o.tmpfs.iter().any(|t| under(&mp, t)) || o.hide.iter().any(|t| under(&mp, t)) {
                continue;
            }
            let c = cstr(&mp);
            let r = mount(null, c.as_ptr(), null, MS_REMOUNT | MS_BIND | MS_RDONLY | flags_of(f[5]), null as *const c_void);
            if mp == "/" { root_ro = r == 0; }
        }
        if !root_ro { die("remount / read-only"); }
    }
}

fn drop_caps() {
    unsafe {
        prctl(28, 0x2f, 0, 0, 0); // PR_SET_SECUREBITS: NOROOT|NOROOT_LOCKED|NO_SETUID_FIXUP|..._LOCKED|KEEP_CAPS_LOCKED
        for cap in 0..64 { prctl(24, cap, 0, 0, 0); } // PR_CAPBSET_DROP
        prctl(47, 4, 0, 0, 0); // PR_CAP_AMBIENT, CLEAR_ALL
        let hdr: [u32; 2] = [0x20080522, 0];
        let data: [u32; 6] = [0; 6];
        if syscall(SYS_CAPSET, &hdr as *const _ as *const c_void, &data as *const _ as *const c_void) != 0 { die("capset"); }
        if prctl(38, 1, 0, 0, 0) != 0 { die("no_new_privs"); }
    }
}

fn main() {
    let o = parse();
    unsafe {
        if let Some(cg) = &o.cgroup {
            if std::fs::write(format!("{}/cgroup.procs", cg), "0").is_err() { die("join cgroup"); }
        }
        for (res, n) in &o.rlimits {
            let lim = [*n, *n];
            if setrlimit(*res, &lim) != 0 { die("setrlimit"); }
        }
        if let Some(ns) = &o.netns {
            use std::os::unix::io::AsRawFd;
            let f = std::fs::File::open(ns).unwrap_or_else(|_| die("open netns"));
            if setns(f.as_raw_fd(), CLONE_NEWNET) != 0 { die("setns net"); }
        } else if o.newnet {
            if unshare(CLONE_NEWNET) != 0 { die("unshare net"); }
        }
        if !o.isolate {
            if o.dropcaps { drop_caps(); }
            exec(&o.cmd);
        }
        if unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) != 0 { die("unshare"); }
        let pid = fork();
        if pid < 0 { die("fork"); }
        if pid == 0 {
            prctl(1, 9, 0, 0, 0); // PR_SET_PDEATHSIG SIGKILL
            setup_mounts(&o);
            let cwd = std::env::current_dir().unwrap_or_else(|_| die("cwd"));
            if chdir(cstr(&cwd.to_string_lossy()).as_ptr()) != 0 { die("chdir"); }
            if o.dropcaps { drop_caps(); }
            exec(&o.cmd);
        }
        let mut status: c_int = 0;
        loop {
            let r = waitpid(pid, &mut status, 0);
            if r == pid { break; }
            if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(4) { die("waitpid"); }
        }
        if status & 0x7f == 0 { _exit((status >> 8) & 0xff); }
        // killed by a signal: die the same way so the caller sees it (core dumps are off)
        let sig = status & 0x7f;
        signal(sig, 0);
        raise(sig);
        _exit(128 + sig);
    }
}

fn exec(cmd: &[String]) -> ! {
    let c: Vec<CString> = cmd.iter().map(|s| cstr(s)).collect();
    let mut ptrs: Vec<*const c_char> = c.iter().map(|s| s.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    unsafe { execvp(ptrs[0], ptrs.as_ptr()); }
    eprintln!("cargogym-jail: cannot execute {}: {}", cmd[0], std::io::Error::last_os_error());
    unsafe { _exit(127) }
}
'''

_LOCK = threading.Lock()
_BUILT: dict[str, Path] = {}


class JailError(RuntimeError):
    pass


_RUSTC_VERSION: dict[str, str] = {}


def jail_binary(rustc: str, bin_dir: Path) -> Path:
    """Compile (once, cached by source + compiler) and return the launcher's path."""
    version = _RUSTC_VERSION.get(rustc)
    if version is None:
        version = subprocess.run([rustc, "-V"], capture_output=True, text=True, timeout=60).stdout.strip()
        _RUSTC_VERSION[rustc] = version
    digest = hashlib.sha256((JAIL_RS + version).encode()).hexdigest()[:16]
    with _LOCK:
        if digest in _BUILT and _BUILT[digest].exists():
            return _BUILT[digest]
        out = bin_dir / f"cargogym-jail-{digest}"
        if not out.exists():
            bin_dir.mkdir(parents=True, exist_ok=True)
            src = bin_dir / f"jail_src_{os.getpid()}.rs"
            tmp = bin_dir / f".jail-{os.getpid()}.bin"
            src.write_text(JAIL_RS)
            try:
                res = subprocess.run([rustc, "--edition", "2021", "-O", "--crate-name", "cargogym_jail", "-o", str(tmp), str(src)],
                                     capture_output=True, text=True, timeout=300, cwd=bin_dir)
                if res.returncode != 0:
                    raise JailError(f"compiling cargogym-jail failed: {res.stderr[-2000:]}")
                os.replace(tmp, out)
            finally:
                src.unlink(missing_ok=True)
                tmp.unlink(missing_ok=True)
        _BUILT[digest] = out
        return out
