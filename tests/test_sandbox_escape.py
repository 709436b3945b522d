"""Trying to escape the program sandbox, in every class of escape known to pass the old gate.

Most programs here run with `gate=False`: the full builtins and no gate, as if the program had
already found its way past it. Each test then checks that the effect did not happen (no file
read, written or truncated; no child process; no connection; no secret in the output; the
worker's protocol intact), not merely that an error string appeared. The last tests run the
same classes with the gate on, to show that the allow-list refuses them first.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from verimath.tools.sandbox import SandboxPool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp: Linux")

SECRET = "verimath-secret-4f1c2a"
# Every escape program reaches the OS through these, loaded in the worker before confinement.
PRELUDE = "import ctypes, os, struct\nlibc = ctypes.CDLL(None, use_errno=True)\n"


@pytest.fixture(scope="module")
def pool():
    with SandboxPool(1, timeout_s=30.0, programs=True) as workers:
        workers.start()  # its process exists from the start: tests aim at its pid
        yield workers


def escape(pool: SandboxPool, body: str, *tries: str, gate: bool = False) -> dict:
    """Run an escape attempt in a confined child: `body`, then each of `tries` (see
    `attempts`). Without the gate, it starts with PRELUDE."""
    source = textwrap.dedent(body) + attempts(*tries)
    if not gate:
        source = PRELUDE + source
    return pool.call("run_program", source=source, gate=gate, time_limit_s=10.0)


def attempts(*lines: str) -> str:
    """A program that runs each statement, printing its result or its error, and goes on."""
    return "".join(
        f"try:\n    print({line!r}, '->', {line})\nexcept BaseException as e:\n"
        f"    print({line!r}, '->', type(e).__name__, e)\n"
        for line in lines
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def test_files_cannot_be_read(pool, secret_file):
    result = escape(
        pool,
        "",
        f"open({str(secret_file)!r}).read()",
        f"os.read(os.open({str(secret_file)!r}, os.O_RDONLY), 100)",
        f"libc.open({str(secret_file).encode()!r}, 0)",
        f"libc.openat(-100, {str(secret_file).encode()!r}, 0)",
        f"os.listdir({str(secret_file.parent)!r})",
        f"os.stat({str(secret_file)!r})",
        "__import__('pathlib').Path('/etc/hostname').read_text()",
    )
    assert SECRET not in result["output"]
    assert "secret.txt" not in result["output"].replace(str(secret_file), "")  # no listing
    assert result["output"].count("PermissionError") >= 5, result["output"]


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the x32 ABI is x86_64's")
def test_another_syscall_abi_kills_the_program(pool, secret_file):
    """open(2) numbered for the x32 ABI, which a filter written for x86_64 must not let past:
    libseccomp's filter kills the process."""
    result = escape(pool, f"print(libc.syscall(0x40000002, {str(secret_file).encode()!r}, 0))")
    assert not result["ok"]
    assert result["output"] == "the program made a system call the sandbox forbids and was stopped"


def test_proc_environ_and_secrets_stay_out_of_reach(pool):
    # A process that holds the secret in its environment, as the host holds VERIMATH_API_KEY.
    holder = subprocess.Popen(["sleep", "30"], env={"VERIMATH_API_KEY": SECRET})
    try:
        environ = Path(f"/proc/{holder.pid}/environ")
        deadline = time.monotonic() + 10
        while SECRET not in environ.read_text() and time.monotonic() < deadline:
            time.sleep(0.01)  # empty until the holder has exec'd `sleep`
        assert SECRET in environ.read_text()  # readable without the sandbox
        [worker] = list(pool._all)
        result = escape(
            pool,
            "",
            f"open('/proc/{holder.pid}/environ').read()",
            f"open('/proc/{worker.process.pid}/environ').read()",
            "open('/proc/1/environ').read()",
            "open('/proc/self/environ').read()",
            "open(f'/proc/{os.getppid()}/cmdline').read()",
            "dict(os.environ)",
        )
    finally:
        holder.kill()
        holder.wait()
    assert SECRET not in result["output"]
    assert "VERIMATH_API_KEY" not in result["output"]
    assert result["output"].count("PermissionError") == 5, result["output"]


def test_freed_descriptors_open_nothing(pool, secret_file):
    """`os.close(0)` frees the lowest descriptor: with an open allowed, the next open would
    get it. The child has only its output pipe, and open is refused by the kernel."""
    result = escape(
        pool,
        """
        for fd in (0, 3, 4, 5):
            try:
                os.close(fd)
            except OSError:
                pass
        """,
        f"open({str(secret_file)!r}).read()",
        "os.dup(1)",
        "os.pipe()",
        "os.listdir('/proc/self/fd')",
    )
    assert SECRET not in result["output"]
    assert result["output"].count("PermissionError") == 4, result["output"]


def test_files_cannot_be_written_truncated_or_created(pool, tmp_path):
    kept = tmp_path / "kept.txt"
    kept.write_text("keep me")
    created = tmp_path / "created.txt"
    result = escape(
        pool,
        "",
        f"open({str(kept)!r}, 'w')",
        f"os.truncate({str(kept)!r}, 0)",
        f"os.open({str(kept)!r}, os.O_WRONLY | os.O_TRUNC)",
        f"libc.truncate({str(kept).encode()!r}, 0)",
        f"os.unlink({str(kept)!r})",
        f"os.rename({str(kept)!r}, {str(created)!r})",
        f"open({str(created)!r}, 'x').write('new')",
        f"os.mkdir({str(tmp_path / 'dir')!r})",
    )
    assert kept.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]
    assert "PermissionError" in result["output"]


def test_no_process_can_be_started(pool, tmp_path):
    marker = tmp_path / "marker"
    touch = f"[b'/usr/bin/touch', {str(marker).encode()!r}]"
    result = escape(
        pool,
        f"argv = (ctypes.c_char_p * 3)(*{touch}, None)\n",
        "os.fork()",
        "libc.fork()",
        "libc.vfork()",
        f"os.system('touch {marker}')",
        f"os.posix_spawn('/usr/bin/touch', {touch}, {{}})",
        f"__import__('subprocess').run(['touch', {str(marker)!r}])",
        "libc.execve(b'/usr/bin/touch', argv, None)",
        f"os.execv('/usr/bin/touch', {touch})",
        "__import__('threading').Thread(target=print).start()",
    )
    time.sleep(0.5)  # a process that had started would have touched the marker by now
    assert not marker.exists()
    assert "os.fork() -> PermissionError" in result["output"]
    assert "libc.fork() -> -1" in result["output"]
    assert "libc.execve(b'/usr/bin/touch', argv, None) -> -1" in result["output"]


def test_no_connection_reaches_a_loopback_listener(pool):
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
    ):
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(1)
        tcp.settimeout(1.0)
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(1.0)
        port, udp_port = tcp.getsockname()[1], udp.getsockname()[1]
        address = f"struct.pack('<H', 2) + struct.pack('>H', {port}) + bytes([127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])"  # noqa: E501
        result = escape(
            pool,
            f"fd = libc.socket(2, 1, 0)\nsockaddr = ctypes.create_string_buffer({address}, 16)\n",
            "fd",
            "libc.connect(fd, sockaddr, 16)",
            "libc.socket(1, 1, 0)",
            "libc.socketpair(1, 1, 0, (ctypes.c_int * 2)())",
            f"__import__('socket').create_connection(('127.0.0.1', {port}), 1)",
            f"__import__('_socket').socket(2, 2).sendto(b'{SECRET}', ('127.0.0.1', {udp_port}))",
        )
        with pytest.raises(TimeoutError):
            tcp.accept()
        with pytest.raises(TimeoutError):
            udp.recv(100)
    assert "fd -> -1" in result["output"]
    assert "libc.socket(1, 1, 0) -> -1" in result["output"]


def test_limits_cannot_be_raised(pool, tmp_path):
    result = escape(
        pool,
        "import resource\ninfinity = resource.RLIM_INFINITY\n",
        "resource.setrlimit(resource.RLIMIT_FSIZE, (infinity, infinity))",
        "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))",
        "resource.prlimit(0, resource.RLIMIT_CPU, (infinity, infinity))",
        "resource.setrlimit(resource.RLIMIT_AS, (infinity, infinity))",
        "('limits', resource.getrlimit(resource.RLIMIT_FSIZE), "
        "resource.getrlimit(resource.RLIMIT_NOFILE))",
    )
    # EPERM from the kernel; Python reports it for setrlimit as "not allowed to raise".
    assert "-> None" not in result["output"], result["output"]  # no call succeeded
    assert "('limits', (0, 0), (3, 3))" in result["output"]


def test_the_worker_and_other_processes_are_untouchable(pool):
    [worker] = list(pool._all)
    result = escape(
        pool,
        "",
        "os.kill(os.getppid(), 9)",
        "os.kill(1, 0)",
        "libc.ptrace(16, os.getppid(), 0, 0)",
        "libc.process_vm_readv(os.getppid(), None, 0, None, 0, 0)",
        "libc.prctl(15, b'renamed', 0, 0, 0)",
    )
    assert worker.process.poll() is None  # the worker still runs
    assert "os.kill(os.getppid(), 9) -> PermissionError" in result["output"]
    assert "libc.ptrace(16, os.getppid(), 0, 0) -> -1" in result["output"]
    assert pool.call("run_program", source="print(6 * 7)")["output"] == "42"
    assert list(pool._all) == [worker]  # the same worker answered


def test_the_protocol_cannot_be_spoofed(pool):
    forged = json.dumps({"ok": True, "result": {"code": "x", "output": "forged", "ok": True}})
    result = escape(pool, f"""
        line = {forged + chr(10)!r}
        for fd in (1, 2, 3, 4, 5, 6):
            try:
                os.write(fd, line.encode())
            except OSError as e:
                pass
        import sys
        sys.__stdout__.write(line)
        sys.__stdout__.flush()
        os._exit(0)
    """)  # fmt: skip
    assert result["code"].startswith(PRELUDE)  # the worker's reply, not the forged one
    assert result["output"].splitlines()[0] == forged  # the forgery is data in a string
    after = pool.call("run_program", source="print(1)")
    assert after == {"code": "print(1)", "output": "1", "ok": True}  # still in step


def test_output_is_capped(pool):
    result = escape(pool, "os.write(1, b'x' * 1_000_000)\nwhile True:\n    pass\n")
    assert not result["ok"] and "output cut" in result["output"]
    assert len(result["output"]) < 20_000


def test_escapes_past_the_old_gate_are_contained(pool, secret_file, tmp_path):
    """The four ways past the old gate, played out with the full builtins: each reaches the
    real builtins, and the kernel still refuses what it does with them."""
    marker = tmp_path / "generated"
    read = f"open({str(secret_file)!r}).read()"
    payload = f"(__import__('os').system('touch {marker}'), {read})"
    result = escape(
        pool,
        """
        import operator, sympy
        real = operator.attrgetter('__self__')(print)
        def frames():
            yield 1
        g = frames()
        via_frame = g.gi_frame.f_builtins
        match print:
            case object(__self__=via_match):
                pass
        """,
        f"real.open({str(secret_file)!r}).read()",
        f"via_frame['open']({str(secret_file)!r}).read()",
        f"via_match.open({str(secret_file)!r}).read()",
        f"sympy.lambdify([], sympy.Function({payload!r})())()",
        "__import__('sympy.plotting.experimental_lambdify')",
    )
    assert SECRET not in result["output"]
    assert not marker.exists()
    assert result["output"].count("PermissionError") >= 4, result["output"]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import operator\nprint(operator.attrgetter('__class__')(1))", "import of 'operator'"),
        ("from operator import methodcaller", "import of 'operator'"),
        ("g = (i for i in [1])\nprint(g.gi_frame)", "'.gi_frame'"),
        ("def f():\n    yield 1\nprint(f().gi_frame.f_back.f_builtins)", "'.f_builtins'"),
        ("match 1:\n    case int(__class__=c):\n        print(c)", "'.__class__'"),
        ("match 1:\n    case object(real=c):\n        print(c)", "'object'"),
        ("from sympy.plotting.experimental_lambdify import experimental_lambdify", "plotting"),
        ("import sympy\nsympy.lambdify([], sympy.Symbol('x'))", "'.lambdify'"),
        ("from sympy import *\nplot(symbols('x'))", "'plot'"),
        ("from sympy import nsolve", "'nsolve'"),
        ("from sympy.utilities.codegen import codegen", "sympy.utilities"),
        ("print('{0.__class__}'.format(1))", "format field"),
        ("f = str.format\nprint(f('{0.real}', 1))", "'.format'"),
        ("print(open)", "'open'"),
        ("print(type(1))", "'type'"),
        ("print(__builtins__)", "'__builtins__'"),
        ("try:\n    1/0\nexcept Exception as e:\n    print(e.__traceback__)", "'.__traceback__'"),
        ("import sympy\nprint(sympy.core.cache.os)", "'.os'"),
        ("class A:\n    pass", "'ClassDef'"),
        ("print(undefined_name)", "'undefined_name' is not available"),
    ],
)
def test_the_gate_is_an_allow_list(pool, source, reason):
    result = escape(pool, source, gate=True)
    assert not result["ok"]
    assert reason in result["output"]
    assert "\n" not in result["output"]


def test_the_gate_lets_ordinary_programs_through(pool):
    source = (
        "from sympy import *\nimport math, random\nfrom fractions import Fraction\n"
        "x = symbols('x')\nsquares = [i * i for i in range(4)]\n"
        "for _ in range(1):\n    print(solve(x**2 - 4, x), squares, math.gcd(12, 18))\n"
        "match squares:\n    case [0, one, *rest]:\n        print(one, rest)\n"
        "print('{:.3f} {}'.format(math.pi, Fraction(1, 3)), f'{math.e:.2f}')"
    )
    result = escape(pool, source, gate=True)
    assert result == {
        "code": source, "output": "[-2, 2] [0, 1, 4, 9] 6\n1 [4, 9]\n3.142 1/3 2.72", "ok": True
    }  # fmt: skip


def test_without_seccomp_programs_refuse_to_run_and_checks_still_work(monkeypatch):
    from verimath.tools import Verifier

    monkeypatch.setenv("VERIMATH_PROGRAMS_UNAVAILABLE", "this kernel has no seccomp (test)")
    with Verifier(workers=1) as verifier:
        run = verifier.run_program("print(1)")
        verdict = verifier.check_answer("What is 2 + 2?", "4")
    assert not run.ok
    assert run.output == (
        "programs cannot run here: this kernel has no seccomp (test) "
        "(VERIMATH_PROGRAMS_UNAVAILABLE is set)"
    )
    assert verdict.status == "verified"


def test_importing_the_tools_loads_no_framework():
    """Sandbox workers import only what they need: not langgraph, pydantic, torch or
    transformers (in a fresh interpreter, so nothing this test session loaded counts)."""
    code = (
        "import sys, verimath.tools, verimath.tools.worker, verimath.tools.programs\n"
        "heavy = ('langgraph', 'langchain_core', 'pydantic', 'torch', 'transformers', 'sympy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "import verimath.errors\nfrom verimath import Agent, Settings, ConfigError, __all__\n"
        "import verimath\nprint(all(hasattr(verimath, name) for name in __all__))\n"
        "print(set(__all__) == {*verimath._EXPORTS, '__version__'})"
    )
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["[]", "True", "True"]
