"""The operating-system sandbox an app's worker runs in: bubblewrap, a seccomp filter, a uid.

The boundary is the kernel's, not Python's: the worker's audit hook stays as a second line
(it names what an app tried), but an app that steps around it — file-descriptor-relative
calls, sqlite3, ctypes, native code, switching the hook off — still meets these walls:

* **Mounts.** A fresh root with only: the Python runtime and the installed packages
  read-only (what the interpreter, the SDK and the app's declared libraries need), the app's
  own package read-only at ``/tweeling-run/app``, the libraries it declares read-only at
  ``/tweeling-run/env`` (when it declares any), the run's inputs read-only beside it, and
  one private writable tmpfs (``/tweeling-run/work``) whose size is the run's quota. The
  platform's home, database, keys, other runs and the package cache are simply not there.
* **Namespaces.** Its own PID namespace (every process of the run dies with it), network
  namespace (no interfaces but a downed loopback), IPC, UTS and cgroup namespace.
* **A uid of its own.** When the platform runs as root, bubblewrap sets up the mounts as root
  and the worker is started as an unprivileged uid of the run's own (from a range no account
  uses), with no capabilities and ``no_new_privs``: even a file that were visible by mistake
  is read with that uid's rights. Run as an ordinary user, bubblewrap makes a user namespace
  instead, in which the worker has no capabilities and may not make another.
* **seccomp.** A filter (libseccomp through pyseccomp, handed to bubblewrap as BPF) refuses
  the calls a worker never needs and that widen the kernel's attack surface or step out of
  the namespaces: ptrace, mount, new namespaces, keyrings, BPF, perf events, userfaultfd,
  io_uring, kernel modules, handles by inode, raw and netlink sockets…
* **Limits** are set by the worker before the app is imported (RLIMIT_NPROC, NOFILE, FSIZE,
  DATA, CPU); with its own uid, RLIMIT_NPROC counts exactly the run's processes.

It fails closed: where bubblewrap is missing or refused, :func:`problem` says why, and the
run does not start (only a developer running an app folder may opt out, with a warning).
"""

from __future__ import annotations

import errno
import functools
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Where things are inside the sandbox (under one folder no host path it shows can be in).
ROOT = "/tweeling-run"
APP = f"{ROOT}/app"
INPUTS = f"{ROOT}/inputs"
WORK = f"{ROOT}/work"
ENV = f"{ROOT}/env"  # the libraries the app declares (tweeling.apps.environments)

# Run uids come from a range no account uses (above the 16-bit range Debian allocates from
# and below the ranges container managers use for subordinate ids).
_UID_LOW, _UID_HIGH = 3_000_000, 3_999_999

# /etc entries the runtime reads (the dynamic loader's cache, time zones); nothing else of
# the host's configuration is shown.
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives")


@dataclass(frozen=True)
class Layout:
    """What one run's sandbox shows, as host paths."""

    app_dir: Path
    inputs_dir: Path
    work_quota_mb: int
    env_dir: Path | None = None


def run_uid() -> int:
    """A fresh uid for one run (only used when the platform runs as root)."""
    return _UID_LOW + secrets.randbelow(_UID_HIGH - _UID_LOW)


def bwrap() -> str | None:
    return shutil.which("bwrap")


def package_root() -> Path:
    """The folder this Tweeling is imported from (site-packages, or a checkout's src/)."""
    import tweeling

    return Path(tweeling.__file__).resolve().parent.parent


def _runtime_paths() -> list[Path]:
    """Read-only parts of the host the worker needs: the interpreter's installation, the
    virtual environment, and the folder Tweeling itself is imported from (an editable
    install points outside the environment)."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    root = package_root()
    if not any(root.is_relative_to(p) for p in paths):
        paths.add(root)
    # Libraries loaded from outside the prefixes (a system Python's dist-packages) come
    # with /usr, which is always mounted.
    return sorted(p for p in paths if not p.is_relative_to("/usr"))


def _prefix_alias() -> tuple[Path, Path] | None:
    """(the path the environment was started under, where it really is) when the two differ.

    The worker is started as ``sys.executable``, under the path the platform itself was
    started with: a virtual environment reached through a symlink (a release folder, a
    checkout's worktree) keeps that path inside the sandbox as a symlink to the real one.
    """
    prefix = Path(sys.prefix).absolute()
    real = prefix.resolve()
    return (prefix, real) if prefix != real else None


def command(layout: Layout, seccomp_fd: int, info_fd: int, uid: int | None) -> list[str]:
    """The bubblewrap command line that starts the worker of one run.

    ``uid`` is the run's own uid when the platform runs as root (bubblewrap then sets up
    the mounts with root's rights and ``setpriv`` drops to the uid before Python starts);
    None makes an unprivileged user namespace instead.
    """
    tool = bwrap()
    if tool is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    args = [
        tool,
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "tweeling-app",
    ]
    if uid is None:
        args += ["--unshare-user", "--disable-userns", "--uid", "1000", "--gid", "1000"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            args += ["--ro-bind", str(host), f"/{name}"]
    for name in _ETC:
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    cpu = Path("/sys/devices/system/cpu")  # thread pools size themselves from it
    if cpu.is_dir():
        args += ["--ro-bind", str(cpu), str(cpu)]
    # The private /tmp comes before the runtime: a runtime that lives under /tmp (a checkout
    # or a CI clone there) is then mounted on top of it instead of hidden by it.
    args += ["--perms", "1777", "--size", str(16 * 1024 * 1024), "--tmpfs", "/tmp"]
    runtime = _runtime_paths()
    alias = _prefix_alias()
    # bubblewrap makes a mount point's missing parents owner-only; the run's uid must be
    # able to pass through them, so they are made first, searchable by all (not /tmp, which
    # stays writable by all).
    placed = [*runtime, Path(WORK), *([alias[0]] if alias else [])]
    parents = sorted({str(a) for p in placed for a in p.parents if a != a.parent})
    for parent in (p for p in parents if p != "/tmp"):
        args += ["--perms", "0755", "--dir", parent]
    for path in runtime:
        if path.is_relative_to(ROOT):
            raise RuntimeError(f"the runtime at {path} lies where the sandbox puts the run")
        args += ["--ro-bind", str(path), str(path)]
    if alias is not None and not any(alias[0].is_relative_to(p) for p in runtime):
        args += ["--symlink", str(alias[1]), str(alias[0])]
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--ro-bind",
        str(layout.app_dir),
        APP,
        "--ro-bind",
        str(layout.inputs_dir),
        INPUTS,
        *(["--ro-bind", str(layout.env_dir), ENV] if layout.env_dir is not None else []),
        "--perms",
        "0777" if uid is not None else "0700",
        "--size",
        str(layout.work_quota_mb * 1024 * 1024),
        "--tmpfs",
        WORK,
        "--chdir",
        WORK,
        "--seccomp",
        str(seccomp_fd),
        "--info-fd",
        str(info_fd),
        "--",
    ]
    if uid is not None:
        args += [
            "/usr/bin/setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--ambient-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ]
    return args


# Namespace flags of clone(2): a process that may not unshare may not clone into new ones.
_CLONE_NEW = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
    0x00000080,  # CLONE_NEWTIME
)

# Calls a worker never makes: refused with EPERM. Most need a capability the worker lacks
# anyway; refusing them before the kernel looks keeps a kernel bug in them out of reach.
_REFUSED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "pidfd_getfd",
    "kcmp",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "swapon",
    "swapoff",
    "reboot",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "acct",
    "add_key",
    "request_key",
    "keyctl",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "vhangup",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "fanotify_init",
    "personality",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "nfsservctl",
    "iopl",
    "ioperm",
    "mbind",
    "migrate_pages",
    "move_pages",
    "set_mempolicy",
)

# Socket families a worker may open: local ones and IP (whose namespace has no route out).
_AF_UNIX, _AF_INET, _AF_INET6 = 1, 2, 10


@functools.cache
def seccomp_program() -> bytes:
    """The filter as BPF bytes (built once per process)."""
    import pyseccomp as seccomp

    flt = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in _REFUSED:
        try:
            flt.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):
            continue  # a call this architecture does not have
    for flag in _CLONE_NEW:
        flt.add_rule(
            seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag)
        )
    # clone3 passes its flags in memory a filter cannot read: say it does not exist, and the
    # C library falls back to clone, whose flags are checked above.
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    # ioctl TIOCSTI would push keystrokes into a terminal; --new-session already detaches.
    flt.add_rule(seccomp.ERRNO(errno.EPERM), "ioctl", seccomp.Arg(1, seccomp.EQ, 0x5412))
    for family in range(64):
        if family not in (_AF_UNIX, _AF_INET, _AF_INET6):
            flt.add_rule(
                seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.EQ, family)
            )
    with tempfile.TemporaryFile() as handle:
        flt.export_bpf(handle)
        handle.seek(0)
        return handle.read()


def seccomp_fd() -> int:
    """A readable descriptor holding the filter, for bubblewrap's ``--seccomp`` (it reads it
    to the end; the caller closes it after the start)."""
    read_end, write_end = os.pipe()
    program = seccomp_program()
    if len(program) > 60_000:  # a pipe buffer holds 64 KiB; ours is a few KiB
        raise RuntimeError("the seccomp program is too large for a pipe")
    os.write(write_end, program)
    os.close(write_end)
    return read_end


@functools.cache
def _probe(as_root: bool) -> str | None:
    tool = bwrap()
    if tool is None:
        return (
            "bubblewrap is not installed (Debian package 'bubblewrap'; `make system-deps` "
            "installs it)"
        )
    if as_root and not Path("/usr/bin/setpriv").exists():
        return "setpriv is not installed (Debian package 'util-linux')"
    try:
        seccomp_program()
    except Exception as exc:  # libseccomp missing or refusing: say so, run nothing
        return f"the seccomp filter cannot be built ({type(exc).__name__}: {exc})"
    with tempfile.TemporaryDirectory(prefix="tweeling-probe-") as tmp:
        folder = Path(tmp)
        (folder / "app").mkdir()
        (folder / "inputs").mkdir()
        os.chmod(folder, 0o755)
        layout = Layout(folder / "app", folder / "inputs", 1)
        filter_fd = seccomp_fd()
        info_read, info_write = os.pipe()
        try:
            args = command(layout, filter_fd, info_write, run_uid() if as_root else None)
            probe = subprocess.run(
                [*args, sys.executable, "-I", "-S", "-c", "pass"],
                capture_output=True,
                timeout=30,
                check=False,
                pass_fds=(filter_fd, info_write),
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not start: {exc}"
        finally:
            for fd in (filter_fd, info_read, info_write):
                os.close(fd)
    if probe.returncode != 0:
        said = probe.stderr.decode(errors="replace").strip().splitlines()
        return f"bubblewrap refused to start a sandbox: {said[-1] if said else probe.returncode}"
    return None


def problem() -> str | None:
    """Why no sandbox can be set up on this machine, or None when it can."""
    return _probe(os.geteuid() == 0)
