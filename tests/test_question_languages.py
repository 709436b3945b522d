"""Questions in other languages, and the answer SymPy computed itself (`Verdict.computed`).

Every check runs through the real sandboxed verifier; `find_checkable` only reads text.
"""

from __future__ import annotations

import json

import pytest

from verimath.tools import Check, Verdict
from verimath.tools.checks import find_checkable

ROOTS = "x = 2, x = 3"

# (question, a right answer, a wrong answer): the right one is verified, the wrong one refuted.
BY_LANGUAGE = {
    "ja": [
        ("3x^2+4x+5=1の解き方は?", r"x = \frac{-2 \pm 2i\sqrt{2}}{3}", "x = -1"),
        ("x^2-5x+6=0を解け", ROOTS, "x = 2"),
        ("方程式 x^2-5x+6=0 を解きなさい。", "2, 3", "2, 4"),
        ("ｘ^2－5ｘ＋6＝0の解を求めよ。", ROOTS, "x = 1"),
        ("17×23を計算せよ", "391", "381"),
        ("17×23は?", "391", "381"),
        ("x^2-4を因数分解せよ", "(x-2)(x+2)", "(x-2)^2"),
        ("(x+2)(x+3)を展開しなさい", "x^2+5x+6", "x^2+6x+5"),
        ("x^3を微分せよ", "3x^2", "3x"),
        ("x^2を積分せよ", "x^3/3 + C", "2x"),
        ("$\\int_0^1 x^2\\,dx$を計算せよ。", "1/3", "1/2"),
    ],
    "zh": [
        ("解方程 x^2-5x+6=0", ROOTS, "x = 2"),
        ("解方程x^2-5x+6=0。", "2, 3", "3, 4"),
        ("求方程 x^2+1=0 的解", "x = \\pm i", "x = i"),
        ("求方程 x^3+x=0 的实数解", "0", "1"),
        ("计算 17*23", "391", "381"),
        ("17×23等于多少?", "391", "392"),
        ("因式分解 x^2-4", "(x-2)(x+2)", "x^2-4"),
        ("展开 (x+2)(x+3)", "x^2+5x+6", "x^2+5x+5"),
        ("求 x^3 的导数", "3x^2", "x^2"),
        ("求 x^4 的二阶导数", "12x^2", "4x^3"),
        ("求 x^2 的积分", "x^3/3", "x^3"),
        ("解方程组 $x+y=10$，$x-y=2$", "x = 6, y = 4", "x = 4, y = 6"),
    ],
    "es": [
        ("Resuelve x^2-5x+6=0", ROOTS, "x = 2"),
        ("Resuelve la ecuación x^2-5x+6=0.", "2, 3", "x = 5"),
        ("Encuentra las soluciones reales de x^3+x=0.", "0", "1"),
        ("¿Cuánto es 17*23?", "391", "381"),
        ("Calcula 17*23", "391", "381"),
        ("Factoriza x^2-4", "(x-2)(x+2)", "(x-2)^2"),
        ("Desarrolla (x+2)(x+3)", "x^2+5x+6", "x^2+5x+5"),
        ("Calcula la derivada de x^3", "3x^2", "3x"),
        ("Calcula la derivada de x^3 en x=2", "12", "8"),
        ("Calcula la segunda derivada de x^4", "12x^2", "4x^3"),
        ("¿Cuál es el valor de x en 2x+3=7?", "2", "3"),
        ("Calcula la integral de x^2", "x^3/3 + C", "x^3"),
        ("Resuelve el sistema $x+y=10$, $x-y=2$.", "(6, 4)", "(4, 6)"),
    ],
    "fr": [
        ("Résoudre x^2 - 5x + 6 = 0", ROOTS, "x = 2"),
        ("Résolvez l’équation x^2 - 5x + 6 = 0.", ROOTS, "x = -2, x = -3"),
        ("Trouvez la valeur de x si 2x+3=7.", "2", "3"),
        ("Combien font 17*23 ?", "391", "381"),
        ("Calculez la valeur de 17*23.", "391", "381"),
        ("Factorisez x^2-4", "(x-2)(x+2)", "(x-2)^2"),
        ("Développez (x+2)(x+3)", "x^2+5x+6", "x^2+5x+5"),
        ("Calculez la dérivée de x^3", "3x^2", "3x"),
        ("Calculez l'intégrale de x^2", "x^3/3 + C", "x^3"),
        ("Résolvez le système x+y=10 et x-y=2", "x = 6, y = 4", "x = 4, y = 6"),
    ],
    "de": [
        ("Löse x^2-5x+6=0", ROOTS, "x = 2"),
        ("Löse die Gleichung x^2-5x+6=0.", ROOTS, "x = 1, x = 6"),
        ("Berechnen Sie 17*23.", "391", "381"),
        ("Was ist 17*23?", "391", "381"),
        ("Faktorisiere x^2-4", "(x-2)(x+2)", "(x-2)^2"),
        ("Multipliziere (x+2)(x+3) aus", "x^2+5x+6", "x^2+5x+5"),
        ("Berechne die Ableitung von x^3", "3x^2", "3x"),
        ("Bestimme eine Stammfunktion von x^2", "x^3/3", "x^3"),
        ("Integriere x^2", "x^3/3 + C", "2x"),
    ],
    "ru": [
        ("Решите уравнение x^2-5x+6=0", ROOTS, "x = 2"),
        ("Вычислите 17*23", "391", "381"),
        ("Сколько будет 17*23?", "391", "381"),
        ("Найдите значение выражения 17*23", "391", "381"),
        ("Разложите на множители x^2-4", "(x-2)(x+2)", "(x-2)^2"),
        ("Раскройте скобки (x+2)(x+3)", "x^2+5x+6", "x^2+5x+5"),
        ("Найдите производную x^3", "3x^2", "3x"),
        ("Найдите первообразную x^2", "x^3/3", "x^3"),
    ],
    "it": [
        ("Risolvi l'equazione x^2-5x+6=0", ROOTS, "x = 2"),
        ("Calcola la derivata di x^3", "3x^2", "3x"),
    ],
}
CASES = [
    pytest.param(q, right, wrong, id=f"{lang}-{i}")
    for lang, cases in BY_LANGUAGE.items()
    for i, (q, right, wrong) in enumerate(cases)
]


@pytest.mark.parametrize(("question", "right", "wrong"), CASES)
def test_a_question_in_another_language_is_checked_like_its_english(
    verifier, question, right, wrong
):
    assert verifier.check_answer(question, right).status == "verified"
    assert verifier.check_answer(question, wrong).status == "refuted"


@pytest.mark.parametrize(
    ("question", "candidate"),
    [
        # they ask for something computed from the math, in words the table does not hold
        ("x^2-5x+6=0の解の和を求めよ", "5"),
        ("x^2-5x+6=0の解はいくつありますか", "2"),
        ("方程 x^2-5x+6=0 的两根之和是多少?", "5"),
        ("x^2-5x+6=0 的正根", "3"),
        ("Encuentra las soluciones positivas de x^2=4", "2"),
        ("Calcula el valor de 4x si 2x+3=7", "8"),
        ("Trouve la somme des racines de x^2-5x+6=0", "5"),
        ("Bestimme die Summe der Nullstellen von x^2-5x+6=0", "5"),
        ("Найдите сумму корней уравнения x^2-5x+6=0", "5"),
        ("Найдите наибольший корень уравнения x^2-5x+6=0", "3"),
        ("17×23の一の位は?", "1"),
        # a lone "y" or "a" is a word here, not a variable
        ("Resuelve el sistema x+y=10 y x-y=2", "(6, 4)"),
        ("Calcula la integral de x^2 de 0 a 1", "1/3"),
        # word problems
        ("Résoudre x^2 - 5x + 6 = 0 et donner la plus grande solution.", "x = 3"),
        ("Löse die Gleichung x^2=4 für x > 0", "x = 2"),
        ("解不等式 x^2 < 4", "-2 < x < 2"),
        ("Natalia vendió 48 clips en abril y la mitad en mayo. ¿Cuántos en total?", "72"),
        ("小明有 5 个苹果，吃了 2 个，还剩几个?", "3"),
        ("Marie a 3 pommes et en mange 1. Combien en reste-t-il ?", "2"),
    ],
)
def test_foreign_prose_the_table_cannot_read_leaves_the_answer_unverified(
    verifier, question, candidate
):
    verdict = verifier.check_answer(question, candidate)
    assert verdict.status == "unverified", verdict.checks


@pytest.mark.parametrize(
    ("question", "fragments"),
    [
        ("解方程x^2-5x+6=0", ["x^2-5x+6=0"]),
        ("3x^2+4x+5=1の解き方は?", ["3x^2+4x+5=1"]),
        ("Resuelve la ecuación x^2-5x+6=0.", ["x^2-5x+6=0"]),
        ("ｘ^2－5ｘ＋6＝0を解け", ["x^2-5x+6=0"]),
    ],
)
def test_formulas_are_found_in_mixed_script_text(question, fragments):
    assert find_checkable(question) == fragments


@pytest.mark.parametrize(
    ("question", "candidate", "expected"),
    [
        # English words that are also cue words elsewhere leave English questions English
        ("Use de Moivre's theorem to compute $(1+i)^4$.", "-4", "verified"),
        ("A fair die is rolled. Compute 17*23.", "391", "verified"),
    ],
)
def test_english_questions_read_as_before(verifier, question, candidate, expected):
    assert verifier.check_answer(question, candidate).status == expected


def test_each_foreign_phrase_has_one_english_reading():
    from verimath.tools.languages import _LANGUAGES

    readings: dict[str, set[str]] = {}
    for language in _LANGUAGES.values():
        for phrases, english in language.cues:
            for phrase in phrases.split("|"):
                readings.setdefault(phrase.casefold(), set()).add(english)
    assert {p: r for p, r in readings.items() if len(r) > 1} == {}


# ----------------------------------------------------------------------------- computed answers
@pytest.mark.parametrize(
    ("question", "wrong", "computed"),
    [
        ("What is 17 times 23?", "381", "391"),
        ("Compute $\\frac{3}{4} + \\frac{1}{8}$.", "1", "7/8"),
        ("Evaluate $\\int_0^1 x^2\\,dx$.", "0.5", "1/3"),
        ("Compute $\\sum_{k=1}^{100} k$.", "5000", "5050"),
        ("What is the greatest common divisor of 84 and 126?", "84", "42"),
        ("Compute $(1+2i)(3-i)$.", "5", "5 + 5*i"),
        ("Compute $e^2 \\cdot e$.", "e^2", "e^3"),
        ("Compute $\\ln 2 + 1$.", "5", "ln(2) + 1"),
        ("Compute $\\lim_{x \\to 0} \\frac{1}{x^2}$.", "0", "∞"),
        ("Solve 3x^2+4x=-1", "x = 1", "x = -1, x = -1/3"),
        ("Solve 3x^2+4x+5=1", "x = -1", "x = -2/3 - 2*sqrt(2)*i/3, x = -2/3 + 2*sqrt(2)*i/3"),
        ("Find the real solutions of x^3 + x = 0.", "1", "x = 0"),
        ("Solve x^2 = 0.5", "x = 0.5", "x = -sqrt(2)/2, x = sqrt(2)/2"),
        ("解方程 x^2-5x+6=0", "x = 1", ROOTS),
        ("Solve the system $x + y = 10$, $x - y = 2$.", "(4, 6)", "x = 6, y = 4"),
        ("Solve the system $x^2 + y^2 = 5$, $x - y = 1$.", "(2, 1)", "(-1, -2), (2, 1)"),
    ],
)
def test_sympy_s_own_answer_comes_with_the_verdict_and_verifies(
    verifier, question, wrong, computed
):
    verdict = verifier.check_answer(question, wrong)
    assert verdict.status in {"refuted", "unverified"}
    assert verdict.computed == computed
    assert verifier.check_answer(question, verdict.computed).status == "verified"
    assert verifier.check_answer(question, "seventeen").computed == computed  # any candidate


@pytest.mark.parametrize(
    "question",
    [
        "Find the positive root of x^2 - 4 = 0.",  # some roots only: the set is not the answer
        "Evaluate $(-27)^{5/3}$.",  # a complex principal value where a real root may be meant
        "Find the real roots of x^2 + 1 = 0.",  # no root to state
        "Solve $x^{2/3} = 4$",  # the principal branch has 8 only; a reader means 8 and -8
        "Solve x^3 - 3x + 1 = 0",  # roots SymPy writes only with nested complex radicals
        "Solve x^5 - x + 1 = 0",  # roots SymPy knows only as CRootOf
        "Compute $\\frac{1}{2004!} + 1$",  # exact, but 5,700 digits
        "Find $\\sin 20^\\circ \\sin 40^\\circ \\sin 60^\\circ \\sin 80^\\circ.$",  # unreduced
        "Compute $\\arctan \\frac{2}{5} + \\arctan \\frac{5}{2}.$",  # π/2, which SymPy misses
        "Find the derivative of $x^3$.",  # an expression task: only values and solutions
        "Natalia sold 48 clips in April and half as many in May. How many in total?",
    ],
)
def test_no_computed_answer_unless_exact_complete_and_readable(verifier, question):
    assert verifier.check_answer(question, "1").computed is None


def test_the_computed_answer_crosses_the_process_boundary_as_json():
    verdict = Verdict("refuted", (Check("arithmetic", "failed", "391, not 381"),), "391")
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["computed"] == "391" and Verdict.from_dict(data) == verdict
    older = {"status": "verified", "checks": []}  # a verdict written before the field existed
    assert Verdict.from_dict(older).computed is None
