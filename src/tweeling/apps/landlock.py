"""Landlock, where the kernel has it: the worker restricts itself before the app is imported.

A third wall inside the sandbox's mount namespace (and the only file-system wall of an
unsandboxed developer run): from here on, this process and every process it starts may
write only beneath the work directory, /tmp and /dev, may not connect over TCP, and (ABI 6
and later) may not signal processes or reach abstract Unix sockets outside their own
Landlock domain. Reading stays as the mounts allow. A restriction cannot be lifted by the
restricted process; the kernel checks it on every call, whatever library makes it.

Called through ``syscall(2)`` with ctypes (no binding package is maintained enough to
depend on); every number below is from ``include/uapi/linux/landlock.h``.
"""

from __future__ import annotations

import ctypes
import os

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_VERSION = 1 << 0  # LANDLOCK_CREATE_RULESET_VERSION
_PATH_BENEATH = 1

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_READ = _EXECUTE | _READ_FILE | _READ_DIR
# Everything that changes the file system, by the ABI version that introduced it.
_WRITES_V1 = sum(1 << bit for bit in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi_version() -> int:
    """The kernel's Landlock ABI version, 0 where it has none (or it is switched off)."""
    try:
        version = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), _VERSION)
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def restrict(writable: list[str]) -> int:
    """Allow writes only beneath ``writable`` (plus reads everywhere the mounts show);
    returns the ABI version applied, 0 where the kernel has no Landlock (nothing done)."""
    abi = abi_version()
    if abi == 0:
        return 0
    handled = _READ | _WRITES_V1
    if abi >= 2:
        handled |= _REFER
    if abi >= 3:
        handled |= _TRUNCATE
    if abi >= 5:
        handled |= _IOCTL_DEV
    attr = _RulesetAttr(handled, _CONNECT_TCP if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    libc = _libc()
    ruleset = int(libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        _allow(libc, ruleset, "/", _READ)
        for path in writable:
            if os.path.exists(path):
                _allow(libc, ruleset, path, handled)
        if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi


def _allow(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        # Rights that only apply to files are refused on a directory rule and vice versa:
        # a non-directory (a device) gets the file rights only.
        if not os.path.isdir(path):
            access &= _EXECUTE | _READ_FILE | _WRITE_FILE | _TRUNCATE | _IOCTL_DEV
        rule = _PathBeneath(access, fd)
        if libc.syscall(_ADD_RULE, ruleset, _PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
    finally:
        os.close(fd)
