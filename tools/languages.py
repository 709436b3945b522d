"""Questions in other languages, read as English: the one multilingual table (`_LANGUAGES`).

Question recognition (`question.py`) and retrieval (the graph's `retrieve` node) read English:
the checks' cue words and the English embedding model. `read_question` replaces each cue phrase
of Japanese, Chinese, Spanish, French, German, Italian or Russian with the English the checks
expect and lists the prose words the table does not cover (the checks then leave the question
unchecked). The same table holds, per language, the words that mark a question as math or
science for the input guardrail (`TOPIC_STEMS`, `TOPIC_SUBSTRINGS`, `HOW_MANY`), so a language
is added in one place. Plain `re` only: importing this module imports no SymPy, so the graph can
use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Reading", "read_question", "read_as_english", "PROSE_WORD", "KNOWN_WORDS", "Language",
    "TOPIC_STEMS", "TOPIC_SUBSTRINGS", "HOW_MANY",
]  # fmt: skip

# An English prose word inside a run of math characters, and the words that are math, not prose.
PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}(?![A-Za-z])")
KNOWN_WORDS = {
    "sin", "cos", "tan", "sec", "csc", "cot", "log", "ln", "exp", "sqrt", "pi",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "abs", "frac", "dfrac", "cdot",
    "dx", "dt", "dy", "du", "lim", "gcd", "lcm", "mod", "bmod", "binom",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Language:
    """One language of the table: `cues`, its phrases and the English they are read as;
    `topic`, words that make a question in it on-topic for the input guardrail (word starts,
    or substrings in Japanese and Chinese, which put no spaces between words); `how_many`, a
    regular expression for its ways to ask for a count or an amount."""

    cues: tuple[tuple[str, str], ...]
    topic: str = ""
    how_many: str = ""


# Cue phrases of other languages and the English the checks read them as; "" drops a word that
# does not change what is asked (a particle, "please", a verb meaning "compute" or "find" after
# its object: a bare expression already asks for its value). The English mirrors the wording
# the English rules expect, so the same guards apply. A question in another language is checked
# only when every word of its prose is here: an unread word ("sum", "positive", "how many")
# could ask for something other than the math in it.
_LANGUAGES: dict[str, Language] = {
    "ja": Language(
        cues=(
            ("連立方程式", "the system"),
            ("微分方程式", "the differential equation"),
            ("方程式", "the equation"),
            ("実数解", "the real solutions"),
            ("実数", "real"),
            ("すべての|全ての", "all"),
            ("解き方|解きなさい|解け|解いて|解く", "solve"),
            ("解", "the solutions"),
            ("因数分解", "factor"),
            ("展開", "expand"),
            ("簡単に", "simplify"),
            ("導関数|微分係数", "the derivative"),
            ("微分", "differentiate"),
            ("不定積分|原始関数", "the antiderivative"),
            ("積分", "integrate"),
            ("極限", "the limit"),
            ("2階|二階", "second"),
            ("計算|求め|値", ""),
            ("しなさい|なさい|せよ|して|する|ください|ですか|です|を|は|の|が|か|よ", ""),
            ("と", "and"),
        ),
        topic=(
            "方程 計算 関数 微分 積分 確率 面積 体積 角度 三角形 証明 解き 解け 求め"
            " 数学 物理 化学 速度 エネルギー 質量 分子 原子 反応 電流 電圧 生物 細胞 遺伝"
        ),
        how_many=r"いくつ|何(?:個|人|回)",
    ),
    "zh": Language(
        cues=(
            ("解方程组", "solve the system"),
            ("方程组", "the system"),
            ("解方程", "solve the equation"),
            ("微分方程", "the differential equation"),
            ("方程", "the equation"),
            ("求解", "solve"),
            ("实数解|实根", "the real solutions"),
            ("实数", "real"),
            ("解|根", "the solutions"),
            ("计算|求值", "compute"),
            ("求导", "differentiate"),
            ("求", "find"),
            ("等于多少|是多少|的值|值", ""),
            ("因式分解|分解因式", "factor"),
            ("展开", "expand"),
            ("化简", "simplify"),
            ("导数|导函数", "the derivative"),
            ("微分", "differentiate"),
            ("不定积分|原函数", "the antiderivative"),
            ("定积分", "the definite integral"),
            ("积分", "the integral"),
            ("极限", "the limit"),
            ("二阶", "second"),
            ("的|吗|呢|请", ""),
        ),
        topic=(
            "方程 计算 函数 微分 积分 导数 概率 面积 体积 角度 三角形 证明 求解 数学 數學"
            " 物理 化学 化學 速度 能量 质量 分子 原子 反应 电流 电压 生物 细胞 遗传"
        ),
        how_many="多少",
    ),
    "es": Language(
        cues=(
            ("resuelve|resuelva|resuelvan|resolver|resolvamos", "solve"),
            ("la ecuación diferencial|ecuación diferencial", "the differential equation"),
            ("la ecuación|ecuación|las ecuaciones|ecuaciones", "the equation"),
            ("el sistema de ecuaciones|el sistema|sistema", "the system"),
            ("las soluciones|soluciones", "the solutions"),
            ("la solución|solución", "the solution"),
            ("las raíces|raíces", "the roots"),
            ("la raíz|raíz", "the root"),
            ("reales", "real"),
            ("calcula|calcule|calcular|evalúa|evalúe|evaluar", "compute"),
            ("halla|halle|hallar|encuentra|encuentre|encontrar|determina|determinar", "find"),
            ("cuánto es|cuánto vale|cuál es", "what is"),
            ("el valor|valor", "the value"),
            ("factoriza|factorice|factorizar", "factor"),
            ("desarrolla|desarrolle|desarrollar|expande|expanda|expandir", "expand"),
            ("simplifica|simplifique|simplificar", "simplify"),
            ("la derivada|derivada", "the derivative"),
            ("deriva|derivar", "differentiate"),
            ("la integral indefinida|integral indefinida", "the indefinite integral"),
            ("la integral", "the integral"),
            ("integra|integre|integrar", "integrate"),
            ("una primitiva|la primitiva|primitiva", "the antiderivative"),
            ("el límite|límite", "the limit"),
            ("la expresión|expresión", "the expression"),
            ("la función|función", "the function"),
            ("de|del", "of"),
            ("el|la|los|las", "the"),
            ("segunda", "second"),
            ("en", "in"),
            ("si", "if"),
        ),
        topic=(
            "ecuaci resolver calcula derivada funci probabilidad triángulo número raíz velocidad"
            " energía fuerza"
        ),
        how_many="cuánt",
    ),
    "fr": Language(
        cues=(
            ("résous|résolvez|résoudre|résolvons", "solve"),
            ("l'équation différentielle|équation différentielle", "the differential equation"),
            ("l'équation|équation|les équations|équations", "the equation"),
            ("le système d'équations|le système|système", "the system"),
            ("les solutions", "the solutions"),
            ("la solution", "the solution"),
            ("les racines|racines", "the roots"),
            ("la racine|racine", "the root"),
            ("réelles|réels|réelle|réel", "real"),
            ("calcule|calculez|calculer|évalue|évaluez|évaluer", "compute"),
            ("trouve|trouvez|trouver|détermine|déterminez|déterminer", "find"),
            ("que vaut|combien font|combien fait|quelle est|quel est", "what is"),
            ("la valeur|valeur", "the value"),
            ("factorisez|factoriser", "factor"),  # "factorise" is English too, and read as such
            ("développe|développez|développer", "expand"),
            ("simplifie|simplifiez|simplifier", "simplify"),
            ("la dérivée|dérivée", "the derivative"),
            ("dérive|dérivez|dériver", "differentiate"),
            ("l'intégrale|intégrale", "the integral"),
            ("intègre|intégrez|intégrer", "integrate"),
            ("une primitive|la primitive", "the antiderivative"),
            ("la limite|limite", "the limit"),
            ("l'expression", "the expression"),
            ("la fonction|fonction", "the function"),
            ("de|du|des|d'", "of"),
            ("le|la|les|l'", "the"),
            ("seconde", "second"),
            ("en", "in"),
            ("si", "if"),
            ("et", "and"),
        ),
        topic="équation résoudre dérivée intégrale fonction probabilité racine vitesse énergie",
        how_many="combien",
    ),
    "de": Language(
        cues=(
            ("löse|löst|lösen", "solve"),
            ("die differentialgleichung|differentialgleichung", "the differential equation"),
            ("das gleichungssystem|gleichungssystem", "the system"),
            ("die gleichung|gleichung|die gleichungen|gleichungen", "the equation"),
            ("die lösungen|lösungen", "the solutions"),
            ("die lösung|lösung", "the solution"),
            ("die nullstellen|nullstellen", "the roots"),
            ("die nullstelle|nullstelle", "the root"),
            ("reellen|reelle", "real"),
            ("berechne|berechnen", "compute"),
            ("bestimme|bestimmen|finde|finden|ermittle|ermitteln", "find"),
            ("was ist|wie viel ist|wieviel ist|was ergibt", "what is"),
            ("den wert|der wert|wert", "the value"),
            ("faktorisiere|faktorisieren", "factor"),
            ("multipliziere|ausmultiplizieren|expandiere|expandieren", "expand"),
            ("vereinfache|vereinfachen", "simplify"),
            ("die ableitung|ableitung", "the derivative"),
            ("differenziere|differenzieren|ableiten", "differentiate"),
            ("das integral", "the integral"),
            ("integriere|integrieren", "integrate"),
            ("die stammfunktion|eine stammfunktion|stammfunktion", "the antiderivative"),
            ("der grenzwert|den grenzwert|grenzwert", "the limit"),
            ("der term|den term", "the expression"),
            ("die funktion|der funktion|funktion", "the function"),
            ("zweite", "second"),
            ("an der stelle", "at"),
            ("von|vom|des|der", "of"),
            ("die|das|den|dem", "the"),
            ("sie|aus", ""),  # "Berechnen Sie …", "Multipliziere … aus"
            ("wenn", "if"),
            ("und", "and"),
        ),
        topic=(
            "gleichung berechne ableitung funktion wahrscheinlichkeit dreieck fläche zahl wurzel"
            " geschwindigkeit kraft"
        ),
        how_many=r"wie\s+(?:viele?|lange|weit)",
    ),
    "it": Language(
        cues=(
            ("risolvi|risolvere", "solve"),
            ("l'equazione|equazione|le equazioni|equazioni", "the equation"),
            ("le soluzioni|soluzioni", "the solutions"),
            ("la soluzione|soluzione", "the solution"),
            ("le radici|radici", "the roots"),
            ("reali", "real"),
            ("calcola|calcolare|valuta", "compute"),
            ("trova|trovare", "find"),
            ("fattorizza|scomponi", "factor"),
            ("sviluppa|espandi", "expand"),
            ("semplifica", "simplify"),
            ("la derivata|derivata", "the derivative"),
            ("deriva", "differentiate"),
            ("l'integrale|integrale", "the integral"),
            ("integra", "integrate"),
            ("di|del|della", "of"),
            ("il|lo|la|le|l'", "the"),
        ),
    ),
    "ru": Language(
        cues=(
            ("решите|реши|решить|решим", "solve"),
            ("дифференциальное уравнение", "the differential equation"),
            ("систему уравнений|система уравнений|систему|система", "the system"),
            ("уравнение|уравнения", "the equation"),
            ("решения", "the solutions"),
            ("решение", "the solution"),
            ("корни", "the roots"),
            ("корень", "the root"),
            ("действительные|вещественные", "real"),
            ("вычислите|вычисли|вычислить", "compute"),
            ("найдите|найди|найти|определите", "find"),
            ("чему равно|чему равен|чему равна|сколько будет", "what is"),
            ("значение выражения", "the value of the expression"),
            ("значение", "the value"),
            ("разложите на множители|разложи на множители|разложить на множители", "factor"),
            ("раскройте скобки|раскрой скобки|раскрыть скобки", "expand"),
            ("упростите|упрости|упростить", "simplify"),
            ("производную|производная", "the derivative"),
            ("продифференцируйте", "differentiate"),
            ("интеграл", "the integral"),
            ("первообразную|первообразная", "the antiderivative"),
            ("проинтегрируйте", "integrate"),
            ("предел", "the limit"),
            ("выражения|выражение", "the expression"),
            ("функции|функция|функцию", "the function"),
            ("вторую|вторая", "second"),
            ("в точке", "at"),
            ("от", "of"),
            ("если", "if"),
            ("и", "and"),
        ),
    ),
}
# Words that also occur in English questions ("a fair die", "de Moivre", "von Neumann", "SI
# units", "et al.", "di/dt"): translated in a foreign question, but no sign of one.
_ALSO_ENGLISH = {"die", "den", "de", "von", "si", "et", "di", "lo"}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
# Full-width forms as ASCII, CJK punctuation as its ASCII counterpart, Spanish and French
# quotation and question marks as spaces, the typographic apostrophe as "'".
_WIDE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | str.maketrans(
    {"\u3000": " ", "。": ". ", "、": ", ", "「": " ", "」": " ", "『": " ", "』": " ",
     "¿": " ", "¡": " ", "«": " ", "»": " ", "’": "'"}
)  # fmt: skip
# A lone "a", "y", "o", "e" or "u" between two operands is a word ("x+y=10 y x-y=2"), not a
# product of variables.
_LONE_LETTER = re.compile(r"(?<=[\w)\]}$])\s+([aeouy])\s+(?=[\w(\[{$\\])")

# The guardrail's vocabulary from the table: word starts of the languages with spaces, the
# substrings of those without, and every way to ask "how many" (regular expressions).
_TOPIC_WORDS = [word for language in _LANGUAGES.values() for word in language.topic.split()]
TOPIC_STEMS = " ".join(dict.fromkeys(w for w in _TOPIC_WORDS if not _CJK.search(w)))
TOPIC_SUBSTRINGS = "|".join(dict.fromkeys(w for w in _TOPIC_WORDS if _CJK.search(w)))
HOW_MANY = "|".join(language.how_many for language in _LANGUAGES.values() if language.how_many)


def _cue_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    meanings: dict[str, str] = {}
    for language in _LANGUAGES.values():
        for phrases, english in language.cues:
            for phrase in phrases.split("|"):
                meanings[_phrase_key(phrase)] = english
    alternatives = []
    for phrase in sorted(meanings, key=len, reverse=True):  # the longest phrase wins
        body = r"\s+".join(re.escape(word) for word in phrase.split())
        if not _CJK.search(phrase):  # whole words, not `\le`; "d'" and "l'" end at the "'"
            body = rf"(?<![\w\\]){body}" + ("" if phrase.endswith("'") else r"(?!\w)")
        alternatives.append(body)
    return re.compile("|".join(alternatives), re.I), meanings


def _phrase_key(text: str) -> str:
    return " ".join(text.split()).casefold()


_CUE, _CUE_MEANINGS = _cue_pattern()
_WORD = re.compile(r"[^\W\d_]+'?")


@dataclass(frozen=True)
class Reading:
    """The question with cue phrases of other languages read as English (unchanged when it is
    English), and the prose words in another language that the table does not cover."""

    text: str
    unread: tuple[str, ...] = ()


def read_as_english(question: str) -> str:
    """The question with its cue phrases in other languages replaced by the English ones
    (`3x^2+4x+5=1の解き方は?` → `3x^2+4x+5=1 solve ?`); English questions come back unchanged.
    Retrieval searches with it: the English embedding model reads this, not the original."""
    return " ".join(read_question(question).text.split())


def read_question(question: str) -> Reading:
    if _english_at_a_glance(question):
        return Reading(question)
    text = question.translate(_WIDE)
    cues = [m for m in _CUE.finditer(text) if _phrase_key(m.group()) not in _ALSO_ENGLISH]
    if not cues and not any(_is_foreign_letter(c) for c in text):
        return Reading(question)
    english = _CUE.sub(lambda m: f" {_CUE_MEANINGS[_phrase_key(m.group())]} ", text)
    rest = _CUE.sub(" ", text)
    unread = [
        *(w for w in PROSE_WORD.findall(rest) if w.lower() not in KNOWN_WORDS),
        *(w for w in rest.split() if any(_is_foreign_letter(c) for c in w)),
        *_LONE_LETTER.findall(rest),
    ]
    return Reading(english, tuple(unread))


def _english_at_a_glance(question: str) -> bool:
    """No letter of another script and no run of up to four words that is a cue phrase: what
    `_read` would find without its regex (most questions, in a fraction of the time)."""
    if not question.isascii() and any(_is_foreign_letter(c) for c in question):
        return False
    words = [w.casefold() for w in _WORD.findall(question)]
    runs = (" ".join(words[i : i + n]) for i in range(len(words)) for n in range(1, 5))
    return not any(run in _CUE_MEANINGS and run not in _ALSO_ENGLISH for run in runs)


def _is_foreign_letter(char: str) -> bool:
    """A letter that is neither ASCII nor a math symbol (Greek, ℝ, µ)."""
    code = ord(char)
    return (
        code > 127
        and char.isalpha()
        and not (0x370 <= code <= 0x3FF or 0x1F00 <= code <= 0x1FFF or 0x2100 <= code <= 0x214F)
        and code != 0xB5
    )
