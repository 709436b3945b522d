"""The SymPy tool: check a candidate answer against what the question lets SymPy compute.

Runs only inside sandbox workers (see sandbox.py). `question.recognise` says what the question
asks; each check below returns a `Verdict` whose checks are certificates: what was computed, the
residual or value, and why it passed or failed. `verified` needs a passed check, a failed check
makes the answer `refuted`, and anything SymPy cannot decide leaves it `unverified`.

`verified` also needs the candidate to be an answer: the right value, not an approximation the
question did not ask for (`precision`), not the question's operation left unevaluated
(`answer_form`), and for simplify, expand and factor tasks in the asked form.

Only `mathparse` turns text into SymPy objects; nothing here evaluates text as code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import sympy

from verimath.tools.answer_form import not_an_answer, restates, written_form
from verimath.tools.answer_text import answer_text, short_answer
from verimath.tools.equivalence import (
    compare_expressions,
    equivalent,
    numerically_equal,
    prepare_answer,
)
from verimath.tools.mathparse import (
    ParseError,
    expand_pm,
    free_variables,
    parse_expression,
    parse_items,
)
from verimath.tools.precision import (
    compare_numbers,
    rounding_asked,
    shown_places,
    written_number,
)
from verimath.tools.question import NoTask, Task, find_checkable, recognise
from verimath.tools.verdict import (
    Check,
    CheckOutcome,
    Equivalence,
    Verdict,
    VerdictStatus,
    shorten,
)

__all__ = ["check_answer", "find_checkable", "grade"]

_UNEVALUATED = (sympy.Derivative, sympy.Integral, sympy.Limit, sympy.Sum, sympy.Product, sympy.Subs)


def check_answer(question: str, candidate: str) -> Verdict:
    """Check the candidate against what the question lets SymPy compute. A candidate that
    still contains the operation to carry out (`17 \\times 23`) is left `unverified`, with a
    note, whatever its value: it is not an answer."""
    task = recognise(question)
    if isinstance(task, NoTask):
        return Verdict("unverified", (Check("question", "not_applicable", task.reason),))
    verdict = _CHECKS[task.kind](replace(task, rounding=rounding_asked(question)), candidate)
    problem = not_an_answer(candidate) if verdict.status != "unverified" else None
    if verdict.status == "verified":
        problem = restates(candidate, task.source) or problem
    if problem:
        return replace(verdict, status="unverified", checks=(*verdict.checks, _form(problem)))
    return verdict


def grade(gold: str, candidate: str) -> Equivalence:
    """Whether a candidate is right against a gold answer, by the rules `verified` follows: an
    operation left unevaluated is not an answer, and a decimal must equal the gold (a rounded
    gold is met by the same rounding). So a verified answer is never graded wrong."""
    problem = not_an_answer(candidate)
    if problem:
        return Equivalence(False, problem)
    return equivalent(gold, candidate)


def _form(problem: str) -> Check:
    return Check("answer form", "not_applicable", problem)


def _unverified(name: str, reason: str) -> Verdict:
    return Verdict("unverified", (Check(name, "not_applicable", reason),))


# ----------------------------------------------------------------------------- candidate reading
def _candidate_values(candidate: str) -> list[sympy.Expr]:
    """Numbers the candidate states: `x = 1, x = 2`, `{1, 2}`, `\\frac{-2 \\pm …}{3}`, …"""
    values: list[sympy.Expr] = []
    for item in parse_items(prepare_answer(candidate)):
        parts = list(item.args) if isinstance(item, sympy.FiniteSet | sympy.Tuple) else [item]
        for part in parts:
            if isinstance(part, sympy.Equality):
                if isinstance(part.lhs, sympy.Symbol):
                    part = part.rhs
                elif isinstance(part.rhs, sympy.Symbol):
                    part = part.lhs
            values.extend(expand_pm(part))
    for value in values:
        if not isinstance(value, sympy.Expr) or free_variables(value):
            raise ParseError(f"'{shorten(value)}' is not a number")
    return values


def _candidate_expression(candidate: str) -> sympy.Expr:
    """The expression a candidate states; `f'(x) = 2x` and `\\int … = F(x) + C` give the right
    side of their last `=`."""
    text = candidate.rsplit("=", 1)[-1] if "=" in candidate else candidate
    value = parse_expression(prepare_answer(text))
    if not isinstance(value, sympy.Expr):
        raise ParseError("not an expression")
    return value


def _residual_zero(expression: sympy.Expr, at: dict) -> tuple[bool | None, sympy.Expr]:
    """Whether an equation's side difference vanishes at a point, with the residual. The scale
    for the 40-digit test is the size of its terms, since the residual itself should be 0."""
    residual = sympy.simplify(expression.subs(at))
    if residual == 0:
        return True, residual
    if residual.is_zero is False:
        return False, residual
    terms = sympy.Add(*(sympy.Abs(t.subs(at)) for t in sympy.Add.make_args(expression)))
    return (None if numerically_equal(residual, sympy.Integer(0), scale=terms) else False), residual


def _outcome(result: bool | None) -> CheckOutcome:
    outcomes: dict[bool | None, CheckOutcome] = {
        True: "passed",
        False: "failed",
        None: "not_applicable",
    }
    return outcomes[result]


def _evaluate(target: sympy.Basic) -> sympy.Basic | None:
    """Carry out integrals, limits, sums and derivatives; None when SymPy cannot finish one."""
    value = target.doit() if target.atoms(*_UNEVALUATED) else target
    if value.atoms(*_UNEVALUATED) or value.has(sympy.nan, sympy.zoo):
        return None
    return value


# ----------------------------------------------------------------------------- values
def _check_value(task: Task, candidate: str) -> Verdict:
    """A closed expression (arithmetic, a definite integral, a limit, a sum, gcd, a remainder)
    has one value; the candidate must state exactly it."""
    name = "value" if task.target.atoms(*_UNEVALUATED) else "arithmetic"
    value = _evaluate(task.target)
    if value is None:
        return _unverified(name, f"SymPy could not evaluate {task.source}")
    # (-27)^{5/3}: SymPy's principal value is complex where a reader may mean the real root, so
    # a complex value is offered as the answer only when the question itself is complex.
    plain = value.is_extended_real is True or task.target.has(sympy.I)
    computed = answer_text(value, task.rounding) if plain else None
    return replace(_compare_value(task, name, value, candidate), computed=computed)


def _compare_value(task: Task, name: str, value: sympy.Basic, candidate: str) -> Verdict:
    try:
        values = _candidate_values(candidate)
    except ParseError as exc:
        return _unverified(name, f"candidate: {exc}")
    if len(values) != 1:
        detail = f"{task.source} = {shorten(value)}; the candidate states {len(values)} values"
        return Verdict("refuted", (Check(name, "failed", detail),))
    match = compare_numbers(values[0], value, candidate, task.rounding)
    if match.same is True:
        note = f" ({match.note})" if match.note else ""
        detail = f"SymPy computed {task.source} = {shorten(value)}; the candidate agrees{note}"
        return Verdict("verified", (Check(name, "passed", detail),))
    if match.same is None:
        return _unverified(name, f"SymPy computed {task.source} = {shorten(value)}; {match.note}")
    if value.is_extended_real is False and values[0].is_real:
        # (-27)^{5/3}: SymPy's principal value is complex, a reader may mean the real root.
        detail = f"SymPy's principal value {shorten(value)} is complex; the real root may be meant"
        return _unverified(name, detail)
    stated = written_number(values[0], candidate)
    detail = f"SymPy computed {task.source} = {shorten(value)}, not {stated}"
    return Verdict("refuted", (Check(name, "failed", detail),))


# ----------------------------------------------------------------------------- equations
def _check_roots(task: Task, candidate: str) -> Verdict:
    """Substitute each stated root (residual 0), then compare with SymPy's full root list."""
    polynomial = sympy.expand(task.target.lhs - task.target.rhs)
    solutions = sympy.solveset(polynomial, task.variable, domain=sympy.S.Complexes)
    roots = list(solutions) if isinstance(solutions, sympy.FiniteSet) else None
    verdict = _compare_roots(task, polynomial, roots, candidate)
    if not polynomial.is_rational_function(task.variable):
        return verdict  # x^{2/3} = 4: SymPy's principal branch gives 8, a reader means ±8
    return replace(verdict, computed=_roots_answer(task, roots))


def _roots_answer(task: Task, roots: list[sympy.Expr] | None) -> str | None:
    """`x = -1/3, x = -1`: every root the question asks for (the real ones when it says real),
    or None when the question asks for some roots only or a root is not exactly known."""
    if roots is None or not task.all_roots:
        return None
    if task.real_only:
        if any(root.is_real is None for root in roots):
            return None
        roots = [root for root in roots if root.is_real]
    texts = [answer_text(root, task.rounding) for root in roots]
    if not texts or None in texts:
        return None
    return short_answer(", ".join(f"{task.variable} = {text}" for text in texts))


def _compare_roots(
    task: Task, polynomial: sympy.Expr, roots: list[sympy.Expr] | None, candidate: str
) -> Verdict:
    variable, fragment = task.variable, task.source
    try:
        values = _candidate_values(candidate)
    except ParseError as exc:
        return _unverified("roots", f"candidate: {exc}")

    def same(value: sympy.Expr, root: sympy.Expr) -> bool | None:
        return compare_numbers(value, root, candidate, task.rounding).same

    checks: list[Check] = []
    for value in values:
        ok, residual = _residual_zero(polynomial, {variable: value})
        detail = f"{variable} = {shorten(value)} in {fragment}: residual {shorten(residual)}"
        if ok is not True and roots is not None:  # a decimal near a root: rounded, or approximate
            near = [compare_numbers(value, root, candidate, task.rounding) for root in roots]
            match = next((m for m in near if m.same is True), None)
            match = match or next((m for m in near if m.same is None and m.note), None)
            if match is not None:
                ok, detail = match.same, f"{detail}; {match.note}"
        checks.append(Check("substitution", _outcome(ok), detail))
    if any(c.outcome == "failed" for c in checks):
        return Verdict("refuted", tuple(checks))
    if not task.all_roots:
        reason = "the question asks for particular roots; which ones is not checked"
        return Verdict("unverified", (*checks, Check("completeness", "not_applicable", reason)))
    if roots is None or any(c.outcome != "passed" for c in checks):
        reason = "SymPy found no finite root list" if roots is None else "a root is not exact"
        checks.append(Check("completeness", "not_applicable", reason))
        return Verdict("unverified", tuple(checks))
    matches = [[same(v, r) for v in values] for r in roots]
    missing = [r for r, m in zip(roots, matches, strict=True) if True not in m and None not in m]
    undecided = [r for r, m in zip(roots, matches, strict=True) if True not in m and None in m]
    if task.real_only:
        missing = [r for r in missing if r.is_real is not False]
        undecided = [r for r in undecided if r.is_real is not False]
    listed = sorted(map(shorten, roots))
    if missing:
        detail = f"{fragment} has roots {listed}; missing {[shorten(r) for r in missing]}"
        return Verdict("refuted", (*checks, Check("completeness", "failed", detail)))
    if undecided:
        detail = f"{fragment} has roots {listed}; cannot prove all are among the candidate's"
        return Verdict("unverified", (*checks, Check("completeness", "not_applicable", detail)))
    detail = f"{fragment}: the candidate gives all roots {listed}"
    return Verdict("verified", (*checks, Check("completeness", "passed", detail)))


def _check_system(task: Task, candidate: str) -> Verdict:
    """Substitute each stated solution into every equation, then compare with SymPy's solutions.
    A polynomial system of degree at most 2 is solved up front (at once, and completely), so its
    solutions are the computed answer whatever the candidate; others only when needed."""
    equations = list(task.target)
    variables = sorted(set().union(*(free_variables(e) for e in equations)), key=str)
    differences = [e.lhs - e.rhs for e in equations]
    polynomial = all(d.is_polynomial(*variables) for d in differences)
    solved: list[list[dict]] = []
    if polynomial and max(sympy.Poly(d, *variables).total_degree() for d in differences) <= 2:
        solved.append(sympy.solve(differences, variables, dict=True))
    verdict = _compare_system(task, candidate, variables, differences, solved)
    computed = _system_answer(task, variables, solved[0]) if polynomial and solved else None
    return replace(verdict, computed=computed)


def _system_answer(task: Task, variables: list[sympy.Symbol], solutions: list[dict]) -> str | None:
    """`x = 6, y = 4`, or `(1, 2), (2, 1)` in the alphabetical order of the unknowns; None
    unless every solution is exactly known and all of them are asked for."""
    if not (task.all_roots and solutions) or any(set(s) != set(variables) for s in solutions):
        return None
    if task.real_only:
        if any(v.is_real is None for s in solutions for v in s.values()):
            return None
        solutions = [s for s in solutions if all(v.is_real for v in s.values())]
    cells = [[answer_text(s[v], task.rounding) for v in variables] for s in solutions]
    texts = [[t for t in row if t is not None] for row in cells]
    if not texts or any(len(row) != len(variables) for row in texts):  # a value not exact
        return None
    if len(texts) == 1:
        return short_answer(
            ", ".join(f"{v} = {t}" for v, t in zip(variables, texts[0], strict=True))
        )
    return short_answer(", ".join(f"({', '.join(row)})" for row in texts))


def _compare_system(
    task: Task,
    candidate: str,
    variables: list[sympy.Symbol],
    differences: list[sympy.Expr],
    solved: list[list[dict]],
) -> Verdict:
    """`solved` holds SymPy's solutions once computed; this adds them when it needs them."""
    try:
        assignments = _assignments(candidate, variables)
    except ParseError as exc:
        return _unverified("system", f"candidate: {exc}")
    checks: list[Check] = []
    for assignment in assignments:
        outcomes = [_residual_zero(d, assignment) for d in differences]
        shown = ", ".join(f"{v} = {shorten(assignment[v])}" for v in variables)
        detail = f"{shown} in {task.source}: residuals {[shorten(r) for _, r in outcomes]}"
        ok = False if any(o is False for o, _ in outcomes) else all(o for o, _ in outcomes) or None
        if ok is not True and (shown_places(candidate) is not None or task.rounding):
            ok, detail = None, f"{detail}; decimals approximate a solution at best, unchecked"
        checks.append(Check("substitution", _outcome(ok), detail))
    if any(c.outcome == "failed" for c in checks):
        return Verdict("refuted", tuple(checks))
    if any(c.outcome != "passed" for c in checks) or not task.all_roots:
        return Verdict("unverified", tuple(checks))
    if not solved:
        solved.append(sympy.solve(differences, variables, dict=True))
    solutions = solved[0]
    if not solutions or any(set(s) != set(variables) for s in solutions):
        checks.append(
            Check("completeness", "not_applicable", "SymPy found no finite solution list")
        )
        return Verdict("unverified", tuple(checks))
    if task.real_only:
        solutions = [s for s in solutions if all(v.is_real is not False for v in s.values())]
    missing = [
        s
        for s in solutions
        if not any(
            all(compare_numbers(a[v], s[v], candidate, task.rounding).same for v in variables)
            for a in assignments
        )
    ]
    listed = [tuple(shorten(s[v]) for v in variables) for s in solutions]
    if missing:
        detail = f"{task.source} has solutions {listed} for {tuple(variables)}; some are missing"
        return Verdict("refuted", (*checks, Check("completeness", "failed", detail)))
    detail = f"the candidate gives every solution {listed} for {tuple(variables)}"
    return Verdict("verified", (*checks, Check("completeness", "passed", detail)))


def _assignments(candidate: str, variables: list[sympy.Symbol]) -> list[dict]:
    """`x = 1, y = 2` (by name) or `(1, 2)` (in alphabetical order of the unknowns)."""
    items = parse_items(prepare_answer(candidate))
    if all(isinstance(i, sympy.Equality) and isinstance(i.lhs, sympy.Symbol) for i in items):
        assignment = {i.lhs: i.rhs for i in items}
        if set(assignment) != set(variables):
            raise ParseError(f"does not give a value for each of {', '.join(map(str, variables))}")
        return [assignment]
    if len(items) == 1 and isinstance(items[0], sympy.FiniteSet):
        items = list(items[0].args)
    if items and all(isinstance(i, sympy.Tuple) and len(i) == len(variables) for i in items):
        return [dict(zip(variables, i, strict=True)) for i in items]
    raise ParseError(f"does not give a value for each of {', '.join(map(str, variables))}")


# ----------------------------------------------------------------------------- expressions
def _check_expression(task: Task, candidate: str) -> Verdict:
    """A derivative, a symbolic sum or limit, or a simplification: the candidate must equal
    what SymPy computes (simplify, cross-checked at random points). Decimals in a candidate
    approximate at best: unequal, they leave it unverified rather than refuted."""
    value = _evaluate(task.target)
    if value is None:
        return _unverified("expression", f"SymPy could not evaluate {task.source}")
    try:
        stated = _candidate_expression(candidate)
    except ParseError as exc:
        return _unverified("expression", f"candidate: {exc}")
    result = compare_expressions(value, stated)
    computed = (
        f"SymPy computed {shorten(task.target)} = {shorten(value)}"
        if task.target.atoms(*_UNEVALUATED)
        else f"compared with the given expression {task.source}"
    )
    if result.equivalent is True:
        return Verdict("verified", (Check("expression", "passed", f"{computed}; {result.reason}"),))
    if result.equivalent is False and shown_places(candidate) is not None:
        detail = f"{computed}; the candidate's decimals approximate it at best (not checked)"
        return _unverified("expression", detail)
    if result.equivalent is False:
        detail = f"{computed}; the candidate {shorten(stated)} {result.reason}"
        return Verdict("refuted", (Check("expression", "failed", detail),))
    return _unverified("expression", f"{computed}; {result.reason}")


def _check_simplified(task: Task, candidate: str) -> Verdict:
    """Simplify: equal to the given expression, not the given expression unchanged, and no
    more operations as written than SymPy's simplest form (`x + 4x` is not simplified)."""
    verdict = _check_expression(task, candidate)
    if verdict.status != "verified":
        return verdict
    try:
        written = written_form(candidate.rsplit("=", 1)[-1])
        given = written_form(task.source)
    except ParseError as exc:
        return replace(verdict, status="unverified", checks=(*verdict.checks, _form(str(exc))))
    size = sympy.count_ops(written)
    simplest, *others = _simplified_forms(task.target)
    least = max(sympy.count_ops(form) for form in (simplest, *others))
    if written == given:
        problem = f"the answer is the expression to simplify, unchanged; SymPy gives {simplest}"
    elif size > least:
        problem = (
            f"not simplified: {shorten(written)} has {size} operations as written, SymPy's "
            f"{shorten(simplest)} {sympy.count_ops(simplest)}"
        )
    else:
        detail = f"{size} operation(s) as written, as few as one of SymPy's simplified forms"
        form = Check("simplified form", "passed", detail)
        return replace(verdict, checks=(*verdict.checks, form))
    return replace(verdict, status="unverified", checks=(*verdict.checks, _form(problem)))


def _simplified_forms(expression: sympy.Expr) -> list[sympy.Expr]:
    """SymPy's simplified forms of an expression, `simplify`'s first. Each is a fair answer to
    "simplify": a polynomial expanded (`21a^5 - 7a^4 - …`) as much as `simplify`'s nested
    `a(a^3(21a - 7) - …)`, a rational function cancelled or factored."""
    forms = [sympy.simplify(expression), sympy.factor(expression), sympy.cancel(expression)]
    return forms + ([sympy.expand(expression)] if expression.is_polynomial() else [])


def _check_antiderivative(task: Task, candidate: str) -> Verdict:
    """Differentiate the candidate: an antiderivative is right exactly when its derivative is the
    integrand (any constant of integration is allowed)."""
    x = task.variable
    try:
        stated = _candidate_expression(candidate)
    except ParseError as exc:
        return _unverified("antiderivative", f"candidate: {exc}")
    if stated.atoms(sympy.Integral):
        return _unverified("antiderivative", "the candidate still contains an integral")
    derivative = sympy.diff(stated, x)
    result = compare_expressions(derivative, task.target)
    detail = f"d/d{x} of {shorten(stated)} is {shorten(sympy.simplify(derivative))}"
    if result.equivalent is True:
        detail += f", the integrand {shorten(task.target)}"
        return Verdict("verified", (Check("antiderivative", "passed", detail),))
    if result.equivalent is False:
        detail += f", not the integrand {shorten(task.target)}"
        return Verdict("refuted", (Check("antiderivative", "failed", detail),))
    return _unverified("antiderivative", f"{detail}; {result.reason}")


def _check_rewrite(task: Task, candidate: str) -> Verdict:
    """Factor / expand: equal to the given expression, and in the asked form as written (SymPy
    would multiply `16(2x+5)` out, and read `4(x+5)(x+6) - 3x^2` as a sum either way)."""
    name = task.kind
    try:
        stated = _candidate_expression(candidate)
        form = written_form(candidate.rsplit("=", 1)[-1])
    except ParseError as exc:
        return _unverified(name, f"candidate: {exc}")
    same = compare_expressions(task.target, stated)
    if same.equivalent is not True:
        outcome: CheckOutcome = "failed" if same.equivalent is False else "not_applicable"
        detail = f"{shorten(stated)} vs {task.source}: {same.reason}"
        status: VerdictStatus = "refuted" if same.equivalent is False else "unverified"
        return Verdict(status, (Check("equal", outcome, detail),))
    equal = Check("equal", "passed", f"{shorten(stated)} equals {task.source}: {same.reason}")
    problem = _factor_problem(form) if name == "factor" else _expand_problem(form)
    if problem:
        return Verdict("refuted", (equal, Check(f"{name}ed form", "failed", problem)))
    form = "a product of irreducible factors" if name == "factor" else "fully expanded"
    return Verdict("verified", (equal, Check(f"{name}ed form", "passed", form)))


def _factors(expression: sympy.Expr) -> list[sympy.Expr]:
    """The factors of a (possibly unevaluated, nested) product, powers by their bases."""
    if isinstance(expression, sympy.Mul):
        return [f for arg in expression.args for f in _factors(arg)]
    return [expression.base if isinstance(expression, sympy.Pow) else expression]


def _factor_problem(expression: sympy.Expr) -> str:
    factors = _factors(expression)
    polynomials = [f for f in factors if free_variables(f)]
    if len(factors) < 2 and not isinstance(expression, sympy.Pow):
        return f"{shorten(expression)} is not written as a product"
    for factor in polynomials:
        if not factor.is_polynomial():
            continue
        _, parts = sympy.factor_list(factor)
        if len(parts) > 1 or any(power > 1 for _, power in parts):
            return f"the factor {shorten(factor)} factors further: {shorten(sympy.factor(factor))}"
    return ""


def _expand_problem(written: sympy.Basic) -> str:
    """A product or power of sums left in the written form, or "" when none is."""
    for node in sympy.preorder_traversal(written):
        sums = [a for a in node.args if isinstance(a, sympy.Add) and free_variables(a)]
        power = isinstance(node, sympy.Pow) and node.exp.is_Integer and node.exp > 1
        if sums and (isinstance(node, sympy.Mul) or power):
            return (
                f"{shorten(node)} is a product of sums; it expands to {shorten(sympy.expand(node))}"
            )
    return ""


_CHECKS: dict[str, Callable[[Task, str], Verdict]] = {
    "value": _check_value,
    "roots": _check_roots,
    "system": _check_system,
    "expression": _check_expression,
    "antiderivative": _check_antiderivative,
    "factor": _check_rewrite,
    "expand": _check_rewrite,
    "simplify": _check_simplified,
}
