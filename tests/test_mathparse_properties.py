"""Property-based tests of the parser: generated expressions read back to the values they were
built from, and arbitrary text either parses or raises ParseError, quickly."""

from __future__ import annotations

import time
from decimal import Decimal

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from verimath.tools.mathparse import ParseError, parse_expression, parse_items

x, y = sympy.symbols("x y")
PROPERTY = settings(max_examples=150, deadline=None, derandomize=True)


@st.composite
def expressions(draw, depth: int = 3) -> tuple[str, str, sympy.Expr]:
    """(plain text, LaTeX text, the SymPy value) for a random expression tree."""
    if depth == 0 or draw(st.booleans()):
        leaf = draw(st.one_of(st.integers(0, 999), st.sampled_from(["x", "y"])))
        value = sympy.Integer(leaf) if isinstance(leaf, int) else sympy.Symbol(leaf)
        return str(leaf), str(leaf), value
    op = draw(st.sampled_from(["+", "-", "*", "/", "^"]))
    left_plain, left_tex, left = draw(expressions(depth - 1))
    if op == "^":
        power = draw(st.integers(0, 4))
        return f"({left_plain})^{power}", f"\\left({left_tex}\\right)^{{{power}}}", left**power
    right_plain, right_tex, right = draw(expressions(depth - 1))
    if op == "/":
        if sympy.simplify(right) == 0:
            right_plain, right_tex, right = "7", "7", sympy.Integer(7)
        return (
            f"({left_plain})/({right_plain})",
            f"\\frac{{{left_tex}}}{{{right_tex}}}",
            left / right,
        )
    value = {"+": left + right, "-": left - right, "*": left * right}[op]
    tex_op = "\\cdot" if op == "*" else op
    return f"({left_plain}){op}({right_plain})", f"{{{left_tex}}} {tex_op} {{{right_tex}}}", value


@PROPERTY
@given(expressions())
def test_generated_expressions_read_back_to_their_values(case):
    plain, tex, value = case
    for text in (plain, tex):
        assert sympy.simplify(parse_expression(text) - value) == 0, text


@PROPERTY
@given(st.fractions(min_value=-(10**6), max_value=10**6, max_denominator=10**4))
def test_fractions_and_exact_decimals(fraction):
    expected = sympy.Rational(fraction.numerator, fraction.denominator)
    assert parse_expression(f"\\frac{{{fraction.numerator}}}{{{fraction.denominator}}}") == expected
    decimal = Decimal(fraction.numerator) / Decimal(fraction.denominator)
    if decimal == decimal.quantize(Decimal("1e-12")):
        assert parse_expression(format(decimal, "f")) == expected


@PROPERTY
@given(st.integers(1000, 10**12))
def test_thousands_separators(number):
    assert parse_items(f"{number:,}") == [sympy.Integer(number)]


TOKENS = [*"0123456789xyie+-*/^()[]{},.=<>!|\\ _", "\\frac", "\\sqrt", "\\pm", "\\pi",
          "\\cdot", "\\infty", "^{", "sin", "log", "9^9"]  # fmt: skip
MATHY = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@PROPERTY
@given(st.one_of(MATHY, st.text(max_size=60)))
def test_any_text_parses_or_raises_parse_error_quickly(text):
    start = time.perf_counter()
    try:
        parse_items(text)
    except ParseError:
        pass
    assert time.perf_counter() - start < 2.0, text
