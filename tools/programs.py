"""Tool-integrated reasoning: SymPy programs the model writes, run only in a sandbox process.

The model may write a short program in a fenced ```python block; its printed output goes back
into the model's context in a ```output block. A model's program is untrusted code, so it never
runs in the caller's process. It runs in a dedicated, single-use worker (`Verifier.run_program`)
that, before it reads the program:

- has no way to start processes (RLIMIT_NPROC 0) and no free file descriptors (every descriptor
  above stdout/stderr closed, RLIMIT_NOFILE at 3), so it cannot open files or sockets;
- cannot write a byte to any file (RLIMIT_FSIZE 0), has capped memory and CPU time, and the
  caller's wall-clock timeout kills it;
- has SymPy's string parser disabled (sympify and parse_expr of a string evaluate Python)
  and the file-system, process and environment functions of `os` replaced by refusals.

The program itself must pass a gate first: imports only from `ALLOWED_MODULES`, no names or
attributes starting with an underscore, none of `BLOCKED_NAMES`. Each layer alone is not a
guarantee; together they leave a program the arithmetic and algebra it is for. The worker is
thrown away after one program, so nothing one program does is seen by the next.

This module is imported on both sides: the host uses `find_program` and `ProgramRun` (pure
text handling); `run_program` and `enter_sandbox` refuse to work outside the sandbox worker.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import re
from dataclasses import dataclass

__all__ = [
    "ProgramBlock",
    "ProgramRun",
    "find_program",
    "format_output",
    "check_program",
    "run_program",
    "enter_sandbox",
    "ALLOWED_MODULES",
    "BLOCKED_NAMES",
    "MAX_PROGRAM_CHARS",
    "MAX_OUTPUT_CHARS",
]

MAX_PROGRAM_CHARS = 4000
MAX_OUTPUT_CHARS = 1500

# What a program may import: SymPy and the standard library's number modules.
ALLOWED_MODULES = frozenset(
    {"sympy", "math", "cmath", "fractions", "decimal", "itertools", "functools", "collections",
     "statistics", "numbers", "operator", "random"}
)  # fmt: skip
# Names that evaluate text as code, reach the interpreter's internals or touch the outside.
BLOCKED_NAMES = frozenset(
    {"eval", "exec", "compile", "open", "input", "breakpoint", "globals", "locals", "vars",
     "getattr", "setattr", "delattr", "dir", "help", "exit", "quit", "memoryview",
     "sympify", "parse_expr", "parse_latex", "parse_mathematica", "lambdify", "preview",
     "autowrap", "ufuncify", "codegen", "parsing", "utilities", "external", "interactive",
     "testing", "os", "sys", "subprocess", "shutil", "importlib", "builtins", "ctypes",
     "signal", "socket", "pathlib", "io", "pickle", "gc", "inspect", "threading",
     "multiprocessing", "resource", "atexit", "weakref", "marshal", "code", "pdb"}
)  # fmt: skip

_FENCE = re.compile(r"```(?:python|py|sympy)[ \t]*\r?\n(.*?)```", re.DOTALL)
_SANDBOXED = False
_LAST = "_verimath_last_value"


@dataclass(frozen=True, slots=True)
class ProgramBlock:
    """A complete fenced program in generated text; `end` is just past its closing fence."""

    code: str
    end: int


@dataclass(frozen=True, slots=True)
class ProgramRun:
    """One program the model wrote and what came of it. `ok` is False when the gate refused
    it, it raised, or the sandbox stopped it; `output` then says why, as the model sees it."""

    code: str
    output: str
    ok: bool

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "output": self.output, "ok": self.ok}


def find_program(text: str, start: int = 0) -> ProgramBlock | None:
    """The first complete ```python block that begins at or after `start`, or None."""
    match = _FENCE.search(text, start)
    if match is None:
        return None
    return ProgramBlock(match.group(1).strip("\n"), match.end())


def format_output(run: ProgramRun) -> str:
    """The output block appended after the program, as the model's context continues."""
    return f"\n```output\n{run.output}\n```\n"


def check_program(source: str) -> str | None:
    """Why the program may not run (one line), or None when it passes the gate."""
    return _parse_gated(source)[1]


def _parse_gated(source: str) -> tuple[ast.Module | None, str | None]:
    """The program's syntax tree and None, or None and why it may not run (one line)."""
    if len(source) > MAX_PROGRAM_CHARS:
        return None, f"the program is over {MAX_PROGRAM_CHARS} characters; write a shorter one"
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as exc:
        return None, f"SyntaxError: {exc.msg} (line {exc.lineno})"
    refusal = _gate(tree)
    return (None, refusal) if refusal else (tree, None)


def _gate(tree: ast.Module) -> str | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""
            ]  # fmt: skip
            for module in modules:
                if module.split(".")[0] not in ALLOWED_MODULES or _blocked_path(module):
                    return f"import of '{module}' is not allowed; use sympy or math"
            for alias in node.names:
                if alias.name.startswith("_") or alias.name in BLOCKED_NAMES:
                    return f"'{alias.name}' is not allowed in a program"
        elif isinstance(node, ast.Name) and _blocked(node.id):
            return f"'{node.id}' is not allowed in a program"
        elif isinstance(node, ast.Attribute) and _blocked(node.attr):
            return f"'.{node.attr}' is not allowed in a program"
        elif isinstance(node, ast.Global | ast.Nonlocal | ast.AsyncFunctionDef | ast.Await):
            return f"'{type(node).__name__}' is not allowed in a program"
    return None


def _blocked(name: str) -> bool:
    return name.startswith("_") or name in BLOCKED_NAMES


def _blocked_path(module: str) -> bool:
    return any(_blocked(part) for part in module.split("."))


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
    """The program's `__import__`: allowed modules only (the gate checked the text; this
    covers the same at run time)."""
    if level != 0 or name.split(".")[0] not in ALLOWED_MODULES or _blocked_path(name):
        raise ImportError(f"import of '{name}' is not allowed; use sympy or math")
    return builtins.__import__(name, globals, locals, fromlist, level)


_SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in (
        "abs", "all", "any", "bin", "bool", "chr", "complex", "dict", "divmod", "enumerate",
        "filter", "float", "format", "frozenset", "hex", "int", "isinstance", "issubclass",
        "iter", "len", "list", "map", "max", "min", "next", "oct", "ord", "pow", "print",
        "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple",
        "zip", "True", "False", "None", "ArithmeticError", "AssertionError", "Exception",
        "IndexError", "KeyError", "OverflowError", "StopIteration", "TypeError", "ValueError",
        "ZeroDivisionError", "NotImplementedError",
    )
}  # fmt: skip


def run_program(source: str, *, max_output_chars: int = MAX_OUTPUT_CHARS) -> ProgramRun:
    """Run a gated program and return what it printed (or, like a REPL, the value of its last
    expression). Works only inside a sandbox worker that called `enter_sandbox`."""
    if not _SANDBOXED:
        raise RuntimeError("run_program runs only inside a sandboxed program worker")
    tree, refusal = _parse_gated(source)
    if tree is None:
        return ProgramRun(source, refusal or "the program was refused", False)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        # Like a REPL, a last bare expression is shown: keep its value under a name the gate
        # forbids programs to use, so the program itself cannot reach it.
        last = tree.body[-1]
        tree.body[-1] = ast.copy_location(
            ast.Assign([ast.Name(_LAST, ast.Store())], last.value), last
        )
        ast.fix_missing_locations(tree)
    namespace: dict[str, object] = {
        "__builtins__": {**_SAFE_BUILTINS, "__import__": _guarded_import},
        "__name__": "__program__",
    }
    printed = io.StringIO()
    ok = True
    try:
        with contextlib.redirect_stdout(printed):
            # Only in the locked-down program worker (_SANDBOXED is checked above), after the gate.
            exec(compile(tree, "<program>", "exec"), namespace)  # safe: sandboxed worker only
            if namespace.get(_LAST) is not None:
                print(namespace[_LAST])
    except MemoryError:
        ok, error = False, "MemoryError: the program ran out of memory"
    except RecursionError:
        ok, error = False, "RecursionError: the program recursed too deeply"
    except Exception as exc:  # the model reads the error, as a person at a REPL would
        ok, error = False, f"{type(exc).__name__}: {str(exc)[:300]}"
    output = printed.getvalue()
    if not ok:
        output = f"{output}{error}"
    output = output.strip() or "(the program printed nothing; print the result)"
    if len(output) > max_output_chars:
        output = output[:max_output_chars] + "\n… (output cut)"
    return ProgramRun(source, output, ok)


def warm_up() -> None:
    """Import everything a typical program reaches before the lock-down, when files can still
    be read: the allowed modules, every lazily loaded SymPy name, and the submodules SymPy
    imports on first use of its solvers, integrals, sums, matrices and physics units."""
    import importlib

    import sympy

    for module in sorted(ALLOWED_MODULES):
        importlib.import_module(module)
    for name in sympy.__all__:
        getattr(sympy, name)
    for module in _LAZY_SYMPY_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    x, y, n = sympy.symbols("x y n")
    f, g = sympy.Function("f"), sympy.Function("g")
    workload = (
        lambda: sympy.solve(3 * x**2 + 4 * x + 4, x),
        lambda: sympy.solve([x + y - 3, x - y - 1], [x, y]),
        lambda: sympy.solveset(x**2 - 4, x, sympy.S.Reals),
        lambda: sympy.simplify(sympy.sin(x) ** 2 + sympy.cos(x) ** 2),
        lambda: sympy.integrate(x * sympy.exp(x), x),
        lambda: sympy.integrate(1 / (1 + x**2), (x, 0, 1)),
        lambda: sympy.limit(sympy.sin(x) / x, x, 0),
        lambda: sympy.series(sympy.exp(x), x, 0, 4),
        lambda: sympy.summation(1 / n**2, (n, 1, sympy.oo)),
        lambda: sympy.Matrix([[1, 2], [3, 4]]).inv(),
        lambda: sympy.nsimplify(0.5),
        lambda: sympy.N(sympy.pi, 20),
        lambda: sympy.factorint(360),
        lambda: sympy.apart(1 / (x**2 - 1)),
        lambda: sympy.rsolve(f(n) - f(n - 1) - 1, f(n)),
        lambda: sympy.dsolve(sympy.Derivative(g(x), x) - g(x)),
    )
    for job in workload:
        with contextlib.suppress(Exception):
            job()


# Submodules SymPy imports inside functions on first use.
_LAZY_SYMPY_MODULES = (
    "sympy.assumptions.wrapper", "sympy.combinatorics", "sympy.physics.units",
    "sympy.physics.matrices", "sympy.sets.setexpr", "sympy.tensor.tensor", "sympy.stats",
    "sympy.ntheory", "sympy.discrete", "sympy.geometry", "sympy.vector",
)  # fmt: skip


def enter_sandbox(cpu_seconds: int) -> None:
    """Lock this process down before it reads a program (see the module docstring). Called once
    by the worker after SymPy is imported; there is no way back."""
    global _SANDBOXED
    import os
    import resource
    import signal

    import sympy.parsing.sympy_parser as sympy_parser

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError("not available inside a program")

    # SymPy's string parser evaluates Python: no string reaches it from a program.
    sympy_parser.parse_expr = refuse  # type: ignore[assignment]
    sympy_parser.eval_expr = refuse  # type: ignore[assignment]
    for name in _OS_FUNCTIONS:
        for module in (os, __import__("posix")):
            if hasattr(module, name):
                setattr(module, name, refuse)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails with an error, not a kill
    os.closerange(3, 4096)
    for limit, value in (
        (resource.RLIMIT_NPROC, 0),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_NOFILE, 3),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_CORE, 0),
    ):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(limit, (value, value))
    _SANDBOXED = True


# The `os`/`posix` functions a program could use on the world outside its own memory.
_OS_FUNCTIONS = (
    "system", "popen", "fork", "forkpty", "execv", "execve", "execl", "execle", "execlp",
    "execvp", "execvpe", "spawnl", "spawnle", "spawnv", "spawnve", "spawnlp", "spawnvp",
    "posix_spawn", "posix_spawnp", "kill", "killpg", "remove", "unlink", "rmdir",
    "removedirs", "rename", "renames", "replace", "mkdir", "makedirs", "chmod", "chown",
    "lchown", "truncate", "ftruncate", "link", "symlink", "open", "putenv", "unsetenv",
    "setuid", "setgid", "chdir", "chroot", "mkfifo", "mknod", "utime", "listdir", "scandir",
    "walk",
)  # fmt: skip
