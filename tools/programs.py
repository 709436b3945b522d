"""Tool-integrated reasoning: SymPy programs the model writes, run only in a confined process.

The model may write a short program in a fenced ```python block; its printed output goes back
into the model's context in a ```output block. A model's program is untrusted code, so it never
runs in the caller's process, and it meets two layers:

1. The gate (`check_program`, this module): an allow-list over the program's syntax tree. It
   may import only `ALLOWED_MODULES`; every name it reads is a builtin from a short list or one
   it binds itself; attribute names are public and not the frame, code, traceback or generator
   internals that lead back to the real builtins (`gi_frame`, `f_back`, `tb_frame`...); `match`
   class patterns are checked like attributes; `str.format` fields may not look attributes up by
   string; SymPy's code generators, which compile expressions to Python (`lambdify`, `nsolve`,
   `plot*`, `codegen`, `autowrap`...), and its string parser are out of reach. The gate gives
   the model a clear one-line reason; it is not what keeps the machine safe.
2. The operating system (`verimath.tools.confinement`): each program runs in a fresh child of
   a program worker, under a seccomp filter that allows computing and writing to its output
   pipe, and nothing that opens, connects, starts processes or raises limits. It holds with the
   full builtins too (tests/test_sandbox_escape.py proves it by trying).

This module is imported on both sides: the host uses `find_program`, `check_program` and
`ProgramRun` (pure text handling; no SymPy is imported here); `run_program` refuses to work
anywhere but in a confined child.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import re
import string
from dataclasses import dataclass

__all__ = [
    "ProgramBlock",
    "ProgramRun",
    "find_program",
    "check_program",
    "run_program",
    "warm_up",
    "ALLOWED_MODULES",
    "BLOCKED_NAMES",
    "MAX_PROGRAM_CHARS",
    "MAX_OUTPUT_CHARS",
    "NO_OUTPUT",
]

MAX_PROGRAM_CHARS = 4000
# What the model is shown for a program that printed nothing (its output, with ok=True).
NO_OUTPUT = "(the program printed nothing; print the result)"
MAX_OUTPUT_CHARS = 1500

# What a program may import, each with its submodules (but never a bare `sympy.X` outside the
# SymPy packages listed). No `operator`: attrgetter and methodcaller look attributes up by string.
ALLOWED_MODULES = frozenset(
    {"math", "cmath", "fractions", "decimal", "itertools", "functools", "collections",
     "statistics", "numbers", "random", "sympy", "sympy.abc", "sympy.core", "sympy.functions",
     "sympy.simplify", "sympy.solvers", "sympy.polys", "sympy.matrices", "sympy.calculus",
     "sympy.series", "sympy.integrals", "sympy.sets", "sympy.logic", "sympy.ntheory",
     "sympy.combinatorics", "sympy.concrete", "sympy.geometry", "sympy.vector", "sympy.stats",
     "sympy.discrete", "sympy.tensor", "sympy.algebras", "sympy.physics.units"}
)  # fmt: skip
# Names a program may not use even where a module offers them: they evaluate text as code,
# compile expressions to Python (SymPy's code generators exec symbol names), or reach the
# interpreter and the world outside. Any name containing "plot" is refused as well.
BLOCKED_NAMES = frozenset(
    {"eval", "exec", "compile", "open", "input", "breakpoint", "globals", "locals", "vars",
     "getattr", "setattr", "delattr", "dir", "help", "exit", "quit", "memoryview", "type",
     "object", "super", "sympify", "parse_expr", "parse_latex", "parse_mathematica", "parsing",
     "lambdify", "lambdastr", "experimental_lambdify", "vectorized_lambdify",
     "implemented_function", "nsolve", "preview", "autowrap", "ufuncify", "binary_function",
     "codegen", "init_session", "init_printing", "interactive", "utilities", "external",
     "testing", "test", "doctest", "namedtuple", "attrgetter", "methodcaller", "os", "sys",
     "subprocess", "shutil", "importlib", "builtins", "ctypes", "signal", "socket", "pathlib",
     "io", "pickle", "gc", "inspect", "threading", "multiprocessing", "resource", "atexit",
     "weakref", "marshal", "code", "pdb", "format_map"}
)  # fmt: skip
# Text SymPy's parser may still read inside a program: numbers, arithmetic and four constants.
_NUMBER_TEXT = re.compile(r"(?:[0-9.\s+\-*/()]|sqrt|pi|E|I)*")
# Attribute prefixes of generators, coroutines, frames, code objects and tracebacks.
_INTROSPECTION = re.compile(r"(gi|cr|ag|f|co|tb)_")

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

_FENCE = re.compile(r"```(?:python|py|sympy)[ \t]*\r?\n(.*?)```", re.DOTALL)
_LAST = "_verimath_last_value"
_REFUSED_NODES = (
    ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.Await,
    ast.ClassDef,
)  # fmt: skip


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
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, f"the program cannot be parsed ({type(exc).__name__})"
    refusal = _gate(tree)
    return (None, refusal) if refusal else (tree, None)


def module_allowed(module: str) -> bool:
    """Whether a program may import `module` (an allowed module or, except for the bare
    `sympy`, a submodule of one), with no private or blocked part in its path."""
    parts = module.split(".")
    if not module or any(part.startswith("_") or part in BLOCKED_NAMES for part in parts):
        return False
    return any(
        module == allowed or (allowed != "sympy" and module.startswith(allowed + "."))
        for allowed in ALLOWED_MODULES
    )


def _name_refused(name: str) -> bool:
    return name.startswith("__") or name in BLOCKED_NAMES or "plot" in name.lower()


def _attribute_refused(name: str) -> bool:
    return name.startswith("_") or _INTROSPECTION.match(name) is not None or _name_refused(name)


def _gate(tree: ast.Module) -> str | None:
    """Why the tree may not run, or None: the allow-list described in the module docstring."""
    bound, star = _bound_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, _REFUSED_NODES):
            return f"'{type(node).__name__}' is not allowed in a program"
        if isinstance(node, ast.Import | ast.ImportFrom):
            refusal = _check_import(node)
        elif isinstance(node, ast.Name):
            refusal = _check_name(node.id, bound, star, isinstance(node.ctx, ast.Load))
        elif isinstance(node, ast.Attribute):
            refusal = f"'.{node.attr}' is not allowed" if _attribute_refused(node.attr) else None
            if refusal is None and node.attr == "format":
                refusal = _check_format(node.value)
        elif isinstance(node, ast.MatchClass):
            refused = [a for a in node.kwd_attrs if _attribute_refused(a)]
            refusal = f"'.{refused[0]}' is not allowed" if refused else None
        elif isinstance(node, ast.arg | ast.alias):
            name = node.arg if isinstance(node, ast.arg) else (node.asname or "")
            refusal = f"'{name}' is not allowed" if _name_refused(name) else None
        else:
            refusal = None
        if refusal:
            return refusal if refusal.startswith("import") else f"{refusal} in a program"
    return None


def _bound_names(tree: ast.Module) -> tuple[set[str], bool]:
    """Every name the program binds anywhere, and whether it star-imports a module."""
    bound: set[str] = set()
    star = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.Lambda):
            if isinstance(node, ast.FunctionDef):
                bound.add(node.name)
            arguments = node.args
            for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                bound.add(arg.arg)
            bound.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                star = star or alias.name == "*"
                bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    return bound, star


def _check_import(node: ast.Import | ast.ImportFrom) -> str | None:
    if isinstance(node, ast.ImportFrom) and node.level:
        return "import of relative modules is not allowed; use sympy or math"
    modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
    for module in modules:
        if not module_allowed(module):
            return f"import of '{module}' is not allowed; use sympy or math"
    if isinstance(node, ast.ImportFrom):
        for alias in node.names:
            if alias.name != "*" and (alias.name.startswith("_") or _name_refused(alias.name)):
                return f"import of '{alias.name}' from '{node.module}' is not allowed"
    return None


def _check_name(name: str, bound: set[str], star: bool, load: bool) -> str | None:
    if _name_refused(name):
        return f"'{name}' is not allowed"
    if not load or name in bound or name in _SAFE_BUILTINS:
        return None
    if star and not name.startswith("_"):
        return None  # may come from `from sympy import *`; unknown names fail at run time
    return f"'{name}' is not available (it is neither defined by the program nor allowed)"


def _check_format(receiver: ast.expr) -> str | None:
    """`.format` only on a string literal whose fields name no attribute or item: a field such
    as "{0.__class__}" looks an attribute up by string, out of the gate's sight."""
    if not (isinstance(receiver, ast.Constant) and isinstance(receiver.value, str)):
        return "'.format' on anything but a string literal is not allowed (use an f-string)"
    pending = [receiver.value]
    while pending:
        try:
            fields = list(string.Formatter().parse(pending.pop()))
        except ValueError:
            return "a malformed format string is not allowed"
        for _, field, spec, _ in fields:
            if field and ("." in field or "[" in field):
                return f"the format field '{{{field}}}' is not allowed (use an f-string)"
            if spec:
                pending.append(spec)
    return None


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
    """The program's `__import__`: allowed modules only (the gate checked the text; this
    covers the same at run time)."""
    if level != 0 or not module_allowed(name):
        raise ImportError(f"import of '{name}' is not allowed; use sympy or math")
    for item in fromlist or ():
        if item != "*" and (item.startswith("_") or _name_refused(item)):
            raise ImportError(f"import of '{item}' from '{name}' is not allowed")
    return builtins.__import__(name, globals, locals, fromlist, level)


def run_program(
    source: str, *, gate: bool = True, max_output_chars: int = MAX_OUTPUT_CHARS
) -> ProgramRun:
    """Run a program and return what it printed (or, like a REPL, the value of its last
    expression). Works only in a confined child (`confinement.run_confined`). `gate=False`
    runs it with the full builtins and no gate: only the escape tests use it, to show that
    the operating system's layer holds alone."""
    from verimath.tools import confinement

    if not confinement.is_confined():
        raise RuntimeError("run_program runs only inside a sandboxed program worker")
    if gate:
        tree, refusal = _parse_gated(source)
        if tree is None:
            return ProgramRun(source, refusal or "the program was refused", False)
        program_builtins: object = {**_SAFE_BUILTINS, "__import__": _guarded_import}
    else:
        tree, program_builtins = ast.parse(source), builtins
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        # Like a REPL, a last bare expression is shown: keep its value under a name of ours.
        last = tree.body[-1]
        tree.body[-1] = ast.copy_location(
            ast.Assign([ast.Name(_LAST, ast.Store())], last.value), last
        )
        ast.fix_missing_locations(tree)
    namespace: dict[str, object] = {"__builtins__": program_builtins, "__name__": "__program__"}
    printed = io.StringIO()
    ok = True
    try:
        with contextlib.redirect_stdout(printed):
            # Only in a confined child (checked above), after the gate.
            exec(compile(tree, "<program>", "exec"), namespace)  # safe: confined child only
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
    output = output.strip() or NO_OUTPUT
    if len(output) > max_output_chars:
        output = output[:max_output_chars] + "\n… (output cut)"
    return ProgramRun(source, output, ok)


def warm_up() -> None:
    """Import, in the program worker, everything a typical program reaches, since a confined
    child can open no file to import: the allowed modules, every lazily loaded SymPy name, and
    the submodules SymPy imports on first use of its solvers, integrals, sums, matrices and
    physics units. Then switch SymPy's string parser off: `sympify` and `parse_expr` of a
    string evaluate Python, and many SymPy functions sympify their string arguments."""
    import importlib

    import sympy
    import sympy.parsing.sympy_parser as sympy_parser

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
        lambda: sympy.CRootOf(x**5 - x + 1, 0).evalf(),  # SymPy lambdifies inside: codegen
        lambda: sympy.pretty(sympy.Integral(x, x)),
        lambda: sympy.latex(sympy.sqrt(x) / 2),
    )
    for job in workload:
        with contextlib.suppress(Exception):
            job()

    parse, evaluate = sympy_parser.parse_expr, sympy_parser.eval_expr

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError("SymPy's string parser is not available inside a program")

    def parse_numbers_only(text: object, *args: object, **kwargs: object) -> object:
        """SymPy reads number text it wrote itself (`nsimplify`, which `solve` calls on
        float coefficients, writes `3/10` and parses it): such text, digits, operators and
        `sqrt`, `pi`, `E`, `I` alone, evaluates nothing but arithmetic. Any other string is
        refused."""
        if not isinstance(text, str) or not _NUMBER_TEXT.fullmatch(text):
            refuse()
        sympy_parser.eval_expr = evaluate
        try:
            return parse(text, *args, **kwargs)
        finally:
            sympy_parser.eval_expr = refuse

    sympy_parser.parse_expr = parse_numbers_only
    sympy_parser.eval_expr = refuse


# Submodules SymPy imports inside functions on first use.
_LAZY_SYMPY_MODULES = (
    "sympy.assumptions.wrapper", "sympy.combinatorics", "sympy.physics.units",
    "sympy.physics.matrices", "sympy.sets.setexpr", "sympy.tensor.tensor", "sympy.stats",
    "sympy.ntheory", "sympy.discrete", "sympy.geometry", "sympy.vector", "sympy.codegen",
    "sympy.printing.pycode",
)  # fmt: skip
