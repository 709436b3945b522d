"""The operating system's layer of the program sandbox: a forked child under a seccomp filter.

A program worker (`worker.py --programs`) is the trusted supervisor. It imports and warms SymPy
once, then for each program forks a child that, before it runs a line of the program:

- keeps one descriptor, the write end of a fresh pipe, as its stdout and stderr: the worker's
  own stdin and stdout (its protocol with the host) are closed in the child;
- dies with its worker (PR_SET_PDEATHSIG), and has RLIMIT_CPU, RLIMIT_FSIZE 0, RLIMIT_NOFILE,
  RLIMIT_CORE 0 and the worker's RLIMIT_AS, with soft and hard limits equal;
- sets no_new_privs and loads a seccomp-bpf filter whose default is EPERM (so a refused call is
  a Python error the model can read) and which allows only `SYSCALLS`: memory, signal plumbing
  for its own process, clocks, random bytes, `write` to descriptors 1 and 2, reading its own
  limits, and exit. Nothing opens a file or directory, creates a socket or descriptor, forks,
  clones, execs, signals or traces another process, or sets a limit. Filters are enforced by
  the kernel for root too, and native code (ctypes) is held by them as Python code is.

The worker reads the child's output (capped, with a wall-clock deadline after which the child
is killed), waits for it, and answers the host with one JSON line in which the output is a
string: nothing a program prints can pass for a protocol line. `ok` is the child's exit status.

Why seccomp and not namespaces plus Landlock. Both cost the same, about a millisecond over the
fork itself (median over 40 forks of a process with SymPy loaded, 2-core VM, kernel 6.18: fork
2.8 ms; fork + seccomp load 3.8-4.0 ms; fork + user, net, mount and IPC namespaces 4.5 ms; fork
+ Landlock 4.1 ms; namespaces + Landlock 5.8 ms). So coverage decides. One seccomp filter covers
every class of escape we test (files, sockets of every family, fork/exec, ptrace and kill,
raising limits); Landlock leaves UDP and raising limits open and confines no process creation,
and a user namespace is exactly what container runtimes (Docker's default seccomp profile) and
hardened kernels refuse to unprivileged code, where seccomp filters stack and always load. The
filter is compiled by libseccomp (through `pyseccomp`), which resolves syscall names for the
running architecture; no hand-written BPF.

Where the filter cannot be loaded (not Linux, no libseccomp, a kernel without seccomp),
`probe()` says why in one line and the worker refuses every program with that reason, while
checks and the rest of the agent work. The environment variable `VERIMATH_PROGRAMS_UNAVAILABLE`
(a test hook, documented here) makes `probe()` answer with its value as if the kernel lacked
seccomp: it can only switch programs off, never weaken the filter.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from verimath.tools.programs import NO_OUTPUT

__all__ = ["Outcome", "SYSCALLS", "UNAVAILABLE_ENV", "is_confined", "probe", "run_confined"]

UNAVAILABLE_ENV = "VERIMATH_PROGRAMS_UNAVAILABLE"

# Allowed without condition: a confined child computes, and nothing else.
SYSCALLS = (
    # memory (RLIMIT_AS caps it)
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
    # its own signal handling and thread synchronisation
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall", "futex",
    # clocks and sleeping, its own ids, random bytes
    "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
    "sched_yield", "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getrandom",
    # reading its limits; closing one of its descriptors; leaving
    "getrlimit", "close", "exit", "exit_group",
)  # fmt: skip
# Allowed with conditions on the arguments (see `_build_filter`): `write` to fds 1 and 2 (the
# output pipe), and `prlimit64` on itself (pid 0) that reads a limit (new limit NULL).
_WRITE_FDS = (1, 2)

# Exit statuses of a child, beyond a program's 0 (ran) and 1 (raised or was refused).
_NOT_CONFINED = 70  # the filter could not be loaded: its output says why
_CHILD_CRASHED = 71  # our own child code failed (never the program's doing)

_FILTER: Any = None  # built once per worker by `probe()`, loaded in every child
_CONFINED = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a confined child left: whether it succeeded, and its output (or why it stopped)."""

    ok: bool
    output: str
    unavailable: bool = False


def is_confined() -> bool:
    """Whether this process is a child under the seccomp filter."""
    return _CONFINED


def probe() -> str | None:
    """Build the filter and prove it in a trial child (opening "/" must fail with EPERM).
    Returns None when programs can run, or why not in one line. Call once, in the worker."""
    global _FILTER
    forced = os.environ.get(UNAVAILABLE_ENV)
    if forced:
        return f"{' '.join(forced.split())} ({UNAVAILABLE_ENV} is set)"
    if not sys.platform.startswith("linux"):
        return f"the program sandbox needs Linux seccomp, and this is {sys.platform}"
    try:
        import pyseccomp  # noqa: F401  (a ctypes binding; raises RuntimeError without the library)
    except ImportError:
        return "the program sandbox needs pyseccomp (pip install pyseccomp)"
    except (RuntimeError, OSError):
        return "the program sandbox needs libseccomp (apt-get install libseccomp2)"
    try:
        _FILTER = _build_filter()
    except (RuntimeError, OSError, ValueError) as exc:
        return f"the seccomp filter cannot be built ({' '.join(str(exc).split())})"
    trial = run_confined(_trial, wall_s=10.0, cpu_s=10, max_bytes=4096)
    if trial.ok:
        return None
    _FILTER = None
    return trial.output if trial.unavailable else f"the seccomp filter failed: {trial.output}"


def _trial() -> tuple[bool, str]:
    try:
        os.close(os.open("/", os.O_RDONLY))
    except PermissionError:
        return True, "confined"
    return False, "the kernel did not enforce the seccomp filter (opening / succeeded)"


def _build_filter() -> Any:
    import pyseccomp as seccomp

    rules = seccomp.SyscallFilter(seccomp.ERRNO(1))  # EPERM: a refusal the program can read
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)  # e.g. int 0x80 on x86_64
    rules.set_attr(seccomp.Attr.CTL_NNP, 1)
    for name in SYSCALLS:
        rules.add_rule(seccomp.ALLOW, name)
    for fd in _WRITE_FDS:
        rules.add_rule(seccomp.ALLOW, "write", seccomp.Arg(0, seccomp.EQ, fd))
    rules.add_rule(
        seccomp.ALLOW, "prlimit64", seccomp.Arg(0, seccomp.EQ, 0), seccomp.Arg(2, seccomp.EQ, 0)
    )
    return rules


def run_confined(
    task: Callable[[], tuple[bool, str]], *, wall_s: float, cpu_s: int, max_bytes: int
) -> Outcome:
    """Run `task` (returning ok and its output) in a confined child and collect what it left.
    The child is killed at `wall_s` seconds or once its output passes `max_bytes`."""
    if _FILTER is None:
        return Outcome(False, "the program sandbox was not prepared (probe() first)", True)
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        _child(task, write_fd, parent, cpu_s)
    os.close(write_fd)
    deadline = time.monotonic() + wall_s
    try:
        output, overrun, cut = _collect(read_fd, deadline, max_bytes)
    finally:
        os.close(read_fd)
    if overrun or cut:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    status = _reap(pid, deadline)
    text = output.decode("utf-8", "replace").strip()
    if overrun or status is None:
        return Outcome(False, f"the program ran past {wall_s:g} s and was stopped")
    if cut:
        return Outcome(False, f"{text[: max_bytes // 4]}\n… (output cut: it printed too much)")
    if os.WIFSIGNALED(status):
        return Outcome(False, _signal_reason(os.WTERMSIG(status), cpu_s))
    code = os.WEXITSTATUS(status)
    if code == _NOT_CONFINED:
        return Outcome(False, text or "the seccomp filter could not be loaded", True)
    if code == _CHILD_CRASHED:
        return Outcome(False, f"the program sandbox failed ({text})")
    return Outcome(code == 0, text or NO_OUTPUT)


def _collect(read_fd: int, deadline: float, max_bytes: int) -> tuple[bytes, bool, bool]:
    """The child's output until it closes the pipe: (bytes, deadline passed, over max_bytes)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), True, False
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            return b"".join(chunks), False, False
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks), False, True


def _reap(pid: int, deadline: float) -> int | None:
    """The child's wait status; a child still alive at the deadline is killed (None)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.002)


def _signal_reason(number: int, cpu_s: int) -> str:
    if number == signal.SIGXCPU:
        return f"the program used its {cpu_s} s of CPU time and was stopped"
    if number == signal.SIGSYS:
        return "the program made a system call the sandbox forbids and was stopped"
    return f"the program was stopped by {signal.Signals(number).name}"


def _child(task: Callable[[], tuple[bool, str]], write_fd: int, parent: int, cpu_s: int) -> None:
    """Confine this freshly forked child, run the task, write its output, exit. Never returns:
    every path ends in os._exit, so no exception reaches the worker's own code in the child."""
    global _CONFINED
    code = _CHILD_CRASHED
    try:
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        try:
            _confine(parent, cpu_s)
        except BaseException as exc:  # reported as the reason programs cannot run here
            _write(f"the seccomp filter could not be loaded ({type(exc).__name__}: {exc})")
            code = _NOT_CONFINED
            return
        _CONFINED = True
        try:
            ok, output = task()
        except BaseException as exc:  # a task never raises; if it did, the output says so
            ok, output = False, f"{type(exc).__name__}: {str(exc)[:300]}"
        _write(output)
        code = 0 if ok else 1
    finally:
        os._exit(code)


def _confine(parent: int, cpu_s: int) -> None:
    """Everything before the program: descriptors, death signal, limits, then the filter."""
    os.close(0)
    os.closerange(3, max(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 1024))
    _die_with_parent(parent)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-size write fails, not kills
    for limit, soft, hard in (
        (resource.RLIMIT_CPU, cpu_s, cpu_s + 1),
        (resource.RLIMIT_FSIZE, 0, 0),
        (resource.RLIMIT_NOFILE, 3, 3),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NPROC, 0, 0),  # not enforced for root; the filter is
    ):
        resource.setrlimit(limit, (soft, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:  # the worker's memory limit, made final
        resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
    _FILTER.load()


def _die_with_parent(parent: int) -> None:
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the worker died before the signal was armed
        os._exit(_CHILD_CRASHED)


def _write(text: str) -> None:
    data = text.encode("utf-8", "replace")
    while data:
        data = data[os.write(1, data) :]
