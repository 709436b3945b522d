"""`verified` means the answer is right and is an answer: no approximation the question did not
ask for, no operation left unevaluated, and for simplify / expand / factor the asked form.

The verdicts come from the real SymPy tool in its sandboxed workers; `precision` and
`answer_form` are also tested as the pure functions they are.
"""

from __future__ import annotations

import pytest
import sympy

from verimath.tools.answer_form import not_an_answer
from verimath.tools.precision import Rounding, compare_numbers, rounding_asked

INTEGRAL = "What is $\\int_0^1 x^2 dx$?"


@pytest.mark.parametrize(
    ("question", "candidate"),
    [
        ("What is 1/3?", "0.3"),
        (INTEGRAL, "0.3"),
        ("What is $\\pi$?", "3.1"),
        ("What is 1/7?", "0.1"),
        ("What is 1/7?", "0.142857"),
        ("Compute $\\frac{3}{4} + \\frac{1}{8}$.", "0.88"),  # the rounding of an exact tie
        ("Compute $\\frac{3}{4} + \\frac{1}{8}$.", "0.9"),
        ("Find the limit of (1 + 1/n)^n as n approaches infinity.", "2.718"),
        ("What is $\\sqrt{2}$?", "1.41"),
    ],
)
def test_an_approximation_nobody_asked_for_is_unverified_with_a_note(verifier, question, candidate):
    verdict = verifier.check_answer(question, candidate)
    assert verdict.status == "unverified", verdict.checks
    assert "approximates" in verdict.checks[-1].detail
    assert "exact value" in verdict.checks[-1].detail


def test_roots_given_as_decimals_are_approximations_not_roots(verifier):
    verdict = verifier.check_answer("Solve x^2 = 2", "x = 1.4, x = -1.4")
    assert verdict.status == "unverified"
    assert all("approximates" in c.detail for c in verdict.checks if c.name == "substitution")
    assert verifier.check_answer("Solve x^2 = 2", "x = \\sqrt{2}, x = -\\sqrt{2}").status == (
        "verified"
    )


@pytest.mark.parametrize(
    ("question", "candidate", "expected"),
    [
        ("What is 1/3 to the nearest hundredth?", "0.33", "verified"),
        ("What is 1/3 to the nearest hundredth?", "0.3", "unverified"),  # too coarse
        ("What is 1/3 to the nearest hundredth?", "0.333", "unverified"),  # not as asked
        ("What is 1/3 to the nearest hundredth?", "\\frac{1}{3}", "unverified"),  # exact
        ("What is 1/3 to the nearest hundredth?", "0.5", "refuted"),
        ("What is $\\sqrt{2}$ rounded to 3 decimal places?", "1.414", "verified"),
        ("What is $\\sqrt{2}$ rounded to 3 decimal places?", "1.415", "refuted"),
        ("What is 22/7 to three significant figures?", "3.14", "verified"),
        ("What is 22/7 to three significant figures?", "3.1429", "unverified"),  # 4 figures
        ("What is 22/7 to three significant figures?", "3.142", "refuted"),  # a truncation
        (
            "Solve $x^2 = 2$ and give the answers to 2 decimal places.",
            "x = 1.41, x = -1.41",
            "verified",
        ),  # fmt: skip
        (
            "Solve $x^2 = 2$ and give the answers to 2 decimal places.",
            "x = 1.42, x = -1.42",
            "refuted",
        ),  # fmt: skip
        ("Compute $\\frac{3}{4} + \\frac{1}{8}$.", "0.875", "verified"),  # exact decimals
        ("Compute $\\frac{3}{4} + \\frac{1}{8}$.", "0.87", "refuted"),  # a truncation
        ("What is 1/3?", "0.\\overline{3}", "verified"),
    ],
)
def test_a_decimal_verifies_when_exact_or_the_asked_rounding(
    verifier, question, candidate, expected
):
    assert verifier.check_answer(question, candidate).status == expected


def test_sympys_own_answer_is_the_asked_rounding(verifier):
    """The answer the agent falls back on verifies too, and reads as the question asks."""
    question = "What is 1/3 to the nearest hundredth?"
    computed = verifier.computed_answer(question)
    assert computed == "0.33"
    assert verifier.check_answer(question, computed).status == "verified"


@pytest.mark.parametrize(
    ("question", "candidate", "value"),
    [
        ("What is 17 times 23?", "17 \\times 23", "391"),
        ("What is $100 \\bmod 7$?", "100 \\bmod 7", "2"),
        ("What is the remainder when 100 is divided by 7?", "100 \\bmod 7", "2"),
        ("What is the greatest common divisor of 12 and 18?", "\\gcd(12, 18)", "6"),
        ("What is the least common multiple of 4 and 6?", "\\operatorname{lcm}(4, 6)", "12"),
        ("Find the derivative of x^3", "\\frac{d}{dx} x^3", "3x^2"),
        ("What is 2^10?", "2^{10}", "1024"),
        ("What is 2^10?", "2^5 \\cdot 2^5", "1024"),
        ("Compute $1 + 2 + 3 + 4$.", "6 + 4", "10"),
        ("Compute $\\sqrt{16} + 1$.", "\\sqrt{16} + 1", "5"),
        (
            "Evaluate $\\lim_{x \\to 0} \\frac{\\sin x}{x}$.",
            "\\lim_{x \\to 0} \\frac{\\sin x}{x}",
            "1",
        ),  # fmt: skip
        ("What is $\\int_0^1 x^2 dx$?", "\\int_0^1 x^2 dx", "\\frac{1}{3}"),
        # the question's expression restated, where SymPy's value reads otherwise
        (
            "Compute $\\arcsin \\left( -\\frac{1}{2} \\right).$",
            "\\arcsin(-\\frac{1}{2})",
            "-\\frac{\\pi}{6}",
        ),  # fmt: skip
        ("Compute $(1 + i)^4.$", "(1 + i)^4", "-4"),
        (
            "Compute $\\frac{\\frac{2}{5}}{\\frac{3}{7}}$.",
            "\\frac{\\frac{2}{5}}{\\frac{3}{7}}",
            "\\frac{14}{15}",
        ),  # fmt: skip
        # SymPy cannot simplify it, but it matches π/2 to 45 digits: not left as the answer
        (
            "Compute $\\arctan \\frac{2}{5} + \\arctan \\frac{5}{2}.$",
            "\\arctan \\frac{2}{5} + \\arctan \\frac{5}{2}",
            None,
        ),  # fmt: skip
    ],
)
def test_an_answer_that_restates_the_operation_is_not_an_answer(
    verifier, question, candidate, value
):
    verdict = verifier.check_answer(question, candidate)
    assert verdict.status == "unverified", verdict.checks
    note = verdict.checks[-1].detail
    assert "give its value" in note or "contains" in note or "restates" in note, note
    if value is not None:
        assert verifier.check_answer(question, value).status == "verified"


def test_an_expression_that_is_its_own_value_is_an_answer(verifier):
    """Nothing is left to do in `\\ln 2 + 1`: restating it is answering it."""
    assert verifier.check_answer("Compute $\\ln 2 + 1$.", "\\ln 2 + 1").status == "verified"


@pytest.mark.parametrize(
    ("question", "candidate", "expected"),
    [
        ("Simplify (x^2-1)/(x-1)", "(x^2-1)/(x-1)", "unverified"),  # the input unchanged
        ("Simplify (x^2-1)/(x-1)", "x+1", "verified"),
        ("Simplify sin^2 x + cos^2 x", "\\sin^2 x + \\cos^2 x", "unverified"),
        ("Simplify sin^2 x + cos^2 x", "1", "verified"),
        ("Simplify $2x + 3x$", "x + 4x", "unverified"),  # equal, not simplest
        ("Simplify $2x + 3x$", "5x", "verified"),
        ("Expand (x+1)^2", "(x+1)^2", "refuted"),  # a product of sums is left
        ("Expand (x+1)^2", "x^2+2x+1", "verified"),
        ("Expand $16(2x+5)$", "16(2x+5)", "refuted"),  # SymPy would multiply it out itself
        ("Expand $16(2x+5)$", "32x+80", "verified"),
        ("Factor $4(x+5)(x+6) - 3x^2$", "4(x+5)(x+6) - 3x^2", "refuted"),  # a sum, as written
        ("Factor x^2-1", "x^2-1", "refuted"),  # not a product
        ("Factor x^4-1", "(x^2-1)(x^2+1)", "refuted"),  # x^2-1 factors further
        ("Factor x^4-1", "(x-1)(x+1)(x^2+1)", "verified"),
    ],
)
def test_simplify_expand_and_factor_need_the_asked_form(verifier, question, candidate, expected):
    verdict = verifier.check_answer(question, candidate)
    assert verdict.status == expected, verdict.checks
    if expected != "verified":
        assert any(c.outcome != "passed" for c in verdict.checks)  # with a note or the evidence


@pytest.mark.parametrize(
    "answer",
    ["391", "-\\frac{1}{3}", "\\frac{3\\sqrt{2}}{2}", "2\\sqrt{3}", "1 + \\sqrt{2}", "3 + 2i",
     "\\frac{\\pi}{4}", "4\\frac{2}{3}", "25\\%", "6.02 \\times 10^{23}", "x = 2, x = 3",
     "\\frac{1 + \\sqrt{5}}{2}", "\\sqrt{8}", "e^2", "(1, 2)", "[2, 5)", "0.\\overline{3}"],
)  # fmt: skip
def test_evaluated_answers_are_answers(answer):
    assert not_an_answer(answer) is None


@pytest.mark.parametrize(
    "answer",
    ["17 \\times 23", "2 \\cdot 3x", "3 - 2", "12 + \\frac{1}{2}", "2^{10}", "\\sqrt{16}",
     "\\sqrt[3]{8}", "\\frac{6}{2}", "\\frac{4\\sqrt{2}}{2}", "\\log_2 8", "|-3|",
     "\\sin \\frac{\\pi}{6}", "5!", "\\binom{5}{2}", "100 \\bmod 7", "\\gcd(12, 18)",
     "\\frac{d}{dx} x^3", "\\int_0^1 x^2 dx", "\\sum_{k=1}^{3} k", "x = 17 \\cdot 23"],
)  # fmt: skip
def test_operations_left_to_do_are_named(answer):
    assert not_an_answer(answer)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is 1/3?", None),
        ("Express your answer as a decimal to the nearest tenth.", Rounding(places=1)),
        ("Round your answer to the nearest whole number.", Rounding(places=0)),
        ("to the nearest ten", Rounding(places=-1)),
        ("Give it to 3 decimal places.", Rounding(places=3)),
        ("Give it to two significant figures.", Rounding(significant=2)),
        ("What is approximately $\\sqrt{2}$?", Rounding()),
        ("A round table seats 8; how many tables?", None),
    ],
)
def test_the_rounding_a_question_asks_for(question, expected):
    assert rounding_asked(question) == expected


def test_exact_ties_accept_either_rounding_convention():
    half = sympy.Rational(5, 2)
    whole = Rounding(places=0)
    assert compare_numbers(sympy.Integer(3), half, "3", whole).same is True  # half up
    assert compare_numbers(sympy.Integer(2), half, "2", whole).same is True  # half to even
    assert compare_numbers(sympy.Integer(1), half, "1", whole).same is False


@pytest.mark.parametrize(
    ("question", "candidate", "gold"),
    [
        ("What is 17 times 23?", "391", "391"),
        ("What is 17 times 23?", "17 \\times 23", "391"),
        ("What is 1/3?", "0.3", "\\frac{1}{3}"),
        ("What is 1/3?", "0.\\overline{3}", "\\frac{1}{3}"),
        ("What is 1/3 to the nearest hundredth?", "0.33", "0.33"),
        ("What is 1/3 to the nearest hundredth?", "\\frac{1}{3}", "0.33"),
        ("Compute $\\frac{3}{4} + \\frac{1}{8}$.", "0.875", "\\frac{7}{8}"),
        ("Compute $\\frac{3}{4} + \\frac{1}{8}$.", "0.88", "\\frac{7}{8}"),
        ("What is 2^10?", "2^{10}", "1024"),
        ("Solve x^2 = 2", "x = \\sqrt{2}, x = -\\sqrt{2}", "\\pm\\sqrt{2}"),
        ("Solve x^2 = 2", "x = 1.4, x = -1.4", "\\pm\\sqrt{2}"),
        ("Simplify (x^2-1)/(x-1)", "x+1", "x+1"),
        ("Simplify (x^2-1)/(x-1)", "(x^2-1)/(x-1)", "x+1"),
    ],
)
def test_eval_grades_by_the_same_rules_so_verified_is_never_graded_wrong(
    verifier, question, candidate, gold
):
    """`verimath eval` grades with `Verifier.grade`: an answer that is not an answer, or an
    approximation of an exact gold, is graded wrong; whatever verifies is graded right."""
    verified = verifier.check_answer(question, candidate).status == "verified"
    graded = verifier.grade(gold, candidate)
    if verified:
        assert graded.equivalent is True, graded.reason
    if not_an_answer(candidate):
        assert graded.equivalent is False
        assert "give its value" in graded.reason or "contains" in graded.reason
