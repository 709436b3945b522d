"""The recursive-descent parser: tokens -> SymPy objects from an explicit allow-list.

Every name the model may write maps to one SymPy constructor here (`_FUNCS`, commands, Greek
letters); anything else is a ParseError, so no text is ever looked up as Python. Arithmetic goes
through `mathguards`, which refuses sizes SymPy would take minutes over, and nesting is capped at
MAX_DEPTH. Callers use `mathparse`, which tokenizes, runs a `Parser` and turns stray SymPy
errors into ParseError.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import sympy

from verimath.tools import mathguards as guard
from verimath.tools.mathtokens import GREEK, ParseError, Token

__all__ = ["Parser", "PM", "MAX_DEPTH"]

MAX_DEPTH = 100
_MAX_SET_TERMS = 16  # SymPy simplifies unions of intervals in roughly cubic time

PM = sympy.Symbol("__pm__")  # marker: a ± b is built as a + PM*b; expand_pm substitutes ±1

_FUNCS: dict[str, Callable[..., sympy.Expr]] = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "sec": sympy.sec, "csc": sympy.csc,
    "cot": sympy.cot, "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh, "log": sympy.log,
    "ln": sympy.log, "exp": sympy.exp, "sqrt": sympy.sqrt, "abs": sympy.Abs,
}  # fmt: skip
_INVERSE = {"sin": sympy.asin, "cos": sympy.acos, "tan": sympy.atan,
            "sec": sympy.asec, "csc": sympy.acsc, "cot": sympy.acot}  # fmt: skip
_PREFIXES = sorted(_FUNCS, key=len, reverse=True)  # `sinx` -> sin(x)
# Short words that would otherwise become products of letters (`cm` -> c*m): refuse them.
_DENY = set(
    "or and is the of to if in on at as by be we it an so no not are for but all any yes let has "
    "its cm mm km kg mg ft deg rad max min gcd lcm mod det dim ker arg lim sum int sup inf def "
    "del try os sys nan".split()
)
# `{ d } { dx }`, `{ d ^ 2 } { d x ^ 2 }`, `{ d ^ { 2 } } { dx ^ { 2 } }` as tokens joined by spaces
_DERIVATIVE_OPERATOR = re.compile(
    r"\{ d (?:\^ (?:\{ )?(?P<top>[1-9]) (?:\} )?)?\} "
    r"\{ d ?(?P<var>[a-z]) (?:\^ (?:\{ )?(?P<bottom>[1-9]) (?:\} )?)?\}(?= |$)"
)
_LEIBNIZ_QUOTIENT = re.compile(r"\{ d ?[a-z] \} \{ d ?[a-z] \}(?= |$)")

_T = TypeVar("_T")
_SIGNS = {Token("op", "+"): sympy.Integer(1), Token("op", "-"): sympy.Integer(-1),
          Token("cmd", "pm"): PM, Token("cmd", "mp"): -PM}  # fmt: skip


class Parser:
    """Recursive descent, lowest precedence first:
    relation (= < > <= >= !=, chained) > set op (\\cup \\cap) > sum (+ - \\pm \\mp) >
    term (* / and implicit products) > unary (- + \\pm) > power (^ **, right-assoc) >
    postfix (!) > primary (number, name, command, bracket, |abs|)."""

    def __init__(self, toks: list[Token]) -> None:
        self.toks, self.pos, self.depth, self.in_abs = list(toks), 0, 0, 0

    def peek(self) -> Token:
        return self.toks[self.pos] if self.pos < len(self.toks) else Token("end", "")

    def take(self) -> Token:
        t = self.peek()
        self.pos += t.kind != "end"
        return t

    def at(self, *texts: str) -> bool:
        t = self.peek()
        return t.kind == "op" and t.text in texts

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise ParseError(f"expected {text!r} but found {self.peek().text or 'the end'!r}")
        self.take()

    def nested(self, parse: Callable[..., _T], *args: object) -> _T:
        """Every bracket, argument, exponent and unary sign goes one level deeper."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"nesting deeper than {MAX_DEPTH}")
        value = parse(*args)
        self.depth -= 1
        return value

    def whole(self) -> sympy.Basic:
        value = self.relation()
        t = self.peek()
        if t.kind == "sep" or (t.kind == "op" and t.text in ",;"):
            raise ParseError(f"several items separated by {t.text!r}: use parse_items")
        if t.kind != "end":
            raise ParseError(f"unexpected {t.text!r}")
        return value

    def relation(self) -> sympy.Basic:
        left, parts = self.setexpr(), []
        while self.at(*guard.RELATIONS):
            op = self.take().text
            right = self.setexpr()
            parts.append(guard.relation(op, left, right))
            left = right
        if not parts:
            return left
        return parts[0] if len(parts) == 1 else sympy.And(*parts, evaluate=False)

    def setexpr(self) -> sympy.Basic:
        left, count = self.sum(), 0
        while self.peek() in (("cmd", "cup"), ("cmd", "cap")):
            op, right, count = self.take().text, self.sum(), count + 1
            if count >= _MAX_SET_TERMS:
                raise ParseError(f"more than {_MAX_SET_TERMS} sets in one union")
            left, right = guard.as_set(left), guard.as_set(right)
            left = sympy.Union(left, right) if op == "cup" else sympy.Intersection(left, right)
        return left

    def sum(self) -> sympy.Basic:
        left = self.term()
        while (sign := _SIGNS.get(self.peek())) is not None:
            self.take()
            left = guard.add(left, guard.mul(sign, self.term()))
        return left

    def term(self) -> sympy.Basic:
        left = self.unary()
        while True:
            t = self.peek()
            if t.kind == "op" and t.text in ("*", "/"):
                self.take()
                right = self.unary()
                left = guard.mul(left, right) if t.text == "*" else guard.div(left, right)
            elif t in (("cmd", "bmod"), ("cmd", "mod"), ("word", "mod")):
                self.take()
                left = guard.mod(left, self.unary())
            elif t == ("cmd", "pmod"):
                self.take()
                left = guard.mod(left, self.tex_arg())
            elif self.starts_factor(t):
                if t.kind == "num":
                    raise ParseError(f"missing operator before the number {t.text}")
                after_number = self.toks[self.pos - 1].kind == "num"
                right = self.power()
                if after_number and t == ("cmd", "frac") and right.is_Rational:
                    if not right.is_Integer:  # 2\frac{1}{2} is 2.5 to a reader, 1 to algebra
                        raise ParseError("ambiguous mixed number: write 2+\\frac{1}{2}")
                left = guard.mul(left, right)
            else:
                return left

    def starts_factor(self, t: Token) -> bool:
        """Whether `t` can begin an implicitly multiplied factor (`2x`, `2\\pi`, `(a)(b)`)."""
        if t.kind in ("num", "word"):
            return t.text != "mod"
        if t.kind == "cmd":
            return t.text not in ("pm", "mp", "cup", "cap", "bmod", "mod", "pmod", "to")
        return t.kind == "op" and (t.text in "([{" or (t.text == "|" and not self.in_abs))

    def unary(self) -> sympy.Basic:
        sign = _SIGNS.get(self.peek())
        if sign is None:
            return self.power()
        self.take()
        return guard.mul(sign, self.nested(self.unary))

    def power(self) -> sympy.Basic:
        base = self.postfix()
        if not self.at("^", "**"):
            return base
        self.take()
        return guard.power(base, self.nested(self.unary))  # right-associative: 2^3^2 = 2^9

    def postfix(self) -> sympy.Basic:
        value = self.primary()
        while self.at("!"):
            self.take()
            value = guard.factorial(value)
        return value

    def group(self, closer: str, many: bool = False) -> list[sympy.Basic]:
        items = [self.nested(self.relation)]
        while many and self.at(","):
            self.take()
            items.append(self.nested(self.relation))
        if closer:
            self.expect(closer)
        return items

    def primary(self) -> sympy.Basic:
        t = self.take()
        if t.kind == "num":
            return guard.number(t.text)
        if t.kind == "word":
            return self.word(t.text)
        if t.kind == "cmd":
            return self.command(t.text)
        if t == ("op", "{"):
            return self.group("}")[0]
        if t == ("op", "\\{"):
            if self.at("\\}"):
                self.take()
                return sympy.EmptySet
            return sympy.FiniteSet(*self.group("\\}", many=True))
        if t == ("op", "|"):
            self.in_abs += 1
            value = self.group("|")[0]
            self.in_abs -= 1
            if guard.bits(guard.as_expr(value)) > guard.MAX_ARG_BITS:
                raise ParseError("argument of |...| too large to check")
            return sympy.Abs(value)
        if t.kind == "op" and t.text in "([":
            return self.bracket(t.text)
        raise ParseError(f"unexpected {t.text or 'end of input'!r}")

    def bracket(self, opener: str) -> sympy.Basic:
        """(a) group, (a, b) Tuple, [a, b] / [a, b) / (a, b] Interval, (a, b, c) Tuple."""
        items = self.group("", many=True)
        closer = self.take().text
        if closer not in (")", "]"):
            raise ParseError(f"expected ')' or ']' but found {closer or 'the end'!r}")
        matched = (opener == "(") == (closer == ")")
        if len(items) == 2 and (opener == "[" or not matched):
            return sympy.Interval(
                guard.as_expr(items[0]), guard.as_expr(items[1]), opener == "(", closer == ")"
            )
        if not matched:
            raise ParseError(f"mismatched brackets {opener} … {closer}")
        return items[0] if len(items) == 1 else sympy.Tuple(*items)

    def identifier(self, name: str, constants: bool) -> sympy.Expr:
        """A letter or Greek name, with an optional subscript (`x_1`, `a_{n+1}`)."""
        if self.at("_"):
            self.take()
            t, parts = self.take(), []
            if t.kind in ("num", "word"):
                parts = [t.text]
            elif t == ("op", "{"):
                while (u := self.take()) != ("op", "}"):
                    if u.kind not in ("num", "word") and u not in (("op", "+"), ("op", "-")):
                        raise ParseError(f"unsupported subscript on {name}")
                    parts.append(u.text)
            if not parts:
                raise ParseError(f"unsupported subscript on {name}")
            return sympy.Symbol(f"{name}_{''.join(parts)}")
        if constants and name in ("i", "e"):
            return sympy.I if name == "i" else sympy.E
        return sympy.Symbol(name)

    def word(self, w: str) -> sympy.Basic:
        if len(w) == 1:
            return self.identifier(w, constants=True)
        if w in _FUNCS:
            return self.apply(w)
        if w == "pi":
            return sympy.pi
        if w in ("oo", "infinity"):
            return sympy.oo
        if w in ("gcd", "lcm") and self.at("("):
            return self.gcd_lcm(w)
        if w == "lim" and self.at("_"):
            return self.limit()
        if w.lower() not in _DENY:
            for f in _PREFIXES:
                if w.startswith(f) and len(w) == len(f) + 1:
                    self.toks.insert(self.pos, Token("word", w[-1]))
                    return self.apply(f)
            if len(w) <= 3:  # `xy`, `xe^x`: a product of letters, a power binds the last
                self.toks[self.pos : self.pos] = [Token("word", c) for c in w[1:]]
                return self.identifier(w[0], constants=True)
        raise ParseError(f"unknown word {w!r}")

    def tex_arg(self) -> sympy.Basic:
        """A LaTeX argument: `{...}` or one character (`\\frac12`, `\\sqrt2`) or one atom."""
        t = self.peek()
        if t.kind in ("num", "word") and len(t.text) > 1 and t.text.isalnum():
            self.toks[self.pos] = Token(t.kind, t.text[1:])
            ch = t.text[0]
            return sympy.Integer(int(ch)) if ch.isdigit() else self.identifier(ch, True)
        return self.primary() if t == ("op", "{") else self.nested(self.primary)

    def command(self, name: str) -> sympy.Basic:
        if name == "frac":
            operator = self.derivative_operator()
            if operator is not None:
                variable, order = operator
                return sympy.Derivative(guard.as_expr(self.nested(self.term)), (variable, order))
            return guard.div(self.tex_arg(), self.tex_arg())
        if name == "int":
            return self.integral()
        if name == "lim":
            return self.limit()
        if name in ("sum", "prod"):
            return self.big_operator(name)
        if name in ("gcd", "lcm"):
            return self.gcd_lcm(name)
        if name == "binom":
            return guard.binomial(self.tex_arg(), self.tex_arg())
        if name == "sqrt":
            if self.at("["):
                self.take()
                index = self.group("]")[0]
                return guard.power(self.tex_arg(), guard.div(sympy.Integer(1), index))
            return guard.power(self.tex_arg(), sympy.Rational(1, 2))
        if name == "pi":
            return sympy.pi
        if name == "infty":
            return sympy.oo
        if name in ("emptyset", "varnothing"):
            return sympy.EmptySet
        if name in GREEK:
            return self.identifier(name, constants=False)
        if name in _FUNCS:
            return self.apply(name)
        raise ParseError(f"unsupported command \\{name}")

    def apply(self, name: str) -> sympy.Expr:
        """`\\sin x`, `sin(x)`, `\\sin^2 x` (= sin(x)^2), `\\sin^{-1} x` (= asin x),
        `\\log_2 8`, `log(8, 2)`; an unbracketed argument runs over an implicit product."""
        base = power = None
        if name == "log" and self.at("_"):
            self.take()
            base = self.tex_arg()
        if self.at("^", "**"):
            self.take()
            power = self.tex_arg()
        if self.at("("):
            self.take()
            args = self.group(")", many=True)
            if len(args) == 2 and name == "log" and base is None:
                base = args.pop()
            if len(args) != 1:
                raise ParseError(f"{name} takes one argument")
            arg = guard.as_expr(args[0])
        else:
            arg = self.operand(through_roots=name in ("log", "ln"))
        if guard.bits(arg) > guard.MAX_ARG_BITS or (
            base is not None and guard.bits(guard.as_expr(base)) > guard.MAX_ARG_BITS
        ):
            raise ParseError(f"argument of {name} too large to check")
        if power is not None and name in _INVERSE and power == -1:
            return _INVERSE[name](arg)
        value = _FUNCS[name](arg) if base is None else sympy.log(arg, guard.as_expr(base))
        return value if power is None else guard.power(value, power)

    def operand(self, through_roots: bool = False) -> sympy.Expr:
        """`\\sin 2x` = sin(2x): the product runs until an operator, number or function.
        A logarithm's runs through roots too: `\\log_3 27\\sqrt3` is log_3(27√3)."""
        if self.at("-"):
            self.take()
            return guard.mul(sympy.Integer(-1), self.nested(self.operand, through_roots))
        value = self.nested(self.power)
        while (t := self.peek()).kind != "num" and self.starts_factor(t):
            if t.text in _FUNCS and not (through_roots and t.text == "sqrt"):
                break
            value = guard.mul(value, self.nested(self.power))
        return guard.as_expr(value)

    # -------------------------------------------------------------- calculus and number theory
    # These build *unevaluated* SymPy objects (Derivative, Integral, Limit, Sum, Product):
    # computing them is the checker's job, inside the sandbox and under its timeout.
    def derivative_operator(self) -> tuple[sympy.Symbol, int] | None:
        """`\\frac{d}{dx}` or `\\frac{d^2}{dx^2}` at the cursor: consumed, (x, order) returned."""
        window = " ".join(t.text for t in self.toks[self.pos : self.pos + 16])
        match = _DERIVATIVE_OPERATOR.match(window)
        if match is None:
            if _LEIBNIZ_QUOTIENT.match(window):  # dy/dx is notation, not y/x
                raise ParseError("dy/dx notation: write the derivative as \\frac{d}{dx}(...)")
            return None
        self.pos += len(match.group().split())
        top, bottom = match.group("top") or "1", match.group("bottom") or "1"
        if top != bottom:
            raise ParseError(
                f"derivative orders differ: d^{top} over d{match.group('var')}^{bottom}"
            )
        return sympy.Symbol(match.group("var")), int(top)

    def bound_variable(self) -> sympy.Symbol:
        t = self.take()
        if t.kind == "cmd" and t.text in GREEK:
            return sympy.Symbol(t.text)
        if t.kind != "word" or len(t.text) != 1:
            raise ParseError(f"expected a variable but found {t.text or 'the end'!r}")
        return sympy.Symbol(t.text)

    def integral(self) -> sympy.Expr:
        """`\\int f(x)\\,dx` or `\\int_a^b f(x)\\,dx`: the integrand runs to the differential."""
        lower = upper = None
        for _ in range(2):
            if self.at("_"):
                self.take()
                lower = guard.as_expr(self.tex_arg())
            elif self.at("^"):
                self.take()
                upper = guard.as_expr(self.tex_arg())
        if (lower is None) != (upper is None):
            raise ParseError("a definite integral needs both limits")
        depth, inner, end = 0, 0, None  # an inner \\int owns the next differential
        for j in range(self.pos, len(self.toks)):
            t = self.toks[j]
            if t.kind == "op":
                depth += (t.text in ("(", "[", "{", "\\{")) - (t.text in (")", "]", "}", "\\}"))
            elif t == ("cmd", "int"):
                inner += 1
            elif t.kind == "word" and re.fullmatch("d[a-z]?", t.text) and depth == 0:
                if not inner:
                    end = j
                    break
                inner -= 1
        if end is None:
            raise ParseError("integral without a differential such as dx")
        integrand = self.sub_expression(self.toks[self.pos : end])
        self.pos = end + 1
        variable = self.toks[end].text[1:]
        if not variable:
            variable = self.bound_variable().name
        x = sympy.Symbol(variable)
        limits = (x,) if lower is None else (x, lower, upper)
        return sympy.Integral(integrand, limits)

    def sub_expression(self, toks: list[Token]) -> sympy.Expr:
        if not toks:
            raise ParseError("empty integrand")
        inner = Parser(toks)
        inner.depth = self.depth + 1
        if inner.depth > MAX_DEPTH:
            raise ParseError(f"nesting deeper than {MAX_DEPTH}")
        return guard.as_expr(inner.whole())

    def limit(self) -> sympy.Expr:
        """`\\lim_{x \\to a} f`, `a` may be `\\infty` or carry a side: `0^+`, `0^{-}`."""
        self.expect("_")
        self.expect("{")
        variable = self.bound_variable()
        if self.take() != ("cmd", "to"):
            raise ParseError("expected \\to in the limit")
        depth, end = 0, None
        for j in range(self.pos, len(self.toks)):
            t = self.toks[j]
            if t.kind == "op" and t.text in ("(", "[", "{", "\\{"):
                depth += 1
            elif t.kind == "op" and t.text in (")", "]", "}", "\\}"):
                if depth == 0:
                    end = j
                    break
                depth -= 1
        if end is None or self.toks[end].text != "}":
            raise ParseError("unclosed limit subscript")
        target, side = list(self.toks[self.pos : end]), "+-"
        texts = [t.text for t in target]
        if texts[-2:] in (["^", "+"], ["^", "-"]):
            side, target = texts[-1], target[:-2]
        elif texts[-4:] in (["^", "{", "+", "}"], ["^", "{", "-", "}"]):
            side, target = texts[-2], target[:-4]
        point = self.sub_expression(target)
        self.pos = end + 1
        body = self.nested(self.term)
        if point in (sympy.oo, -sympy.oo):
            side = "+" if point == sympy.oo else "-"
        return sympy.Limit(guard.as_expr(body), variable, point, side)

    def big_operator(self, name: str) -> sympy.Expr:
        """`\\sum_{k=1}^{n} f(k)` and `\\prod`; the body is the following term."""
        self.expect("_")
        self.expect("{")
        variable = self.bound_variable()
        self.expect("=")
        lower = guard.as_expr(self.nested(self.sum))
        self.expect("}")
        self.expect("^")
        upper = guard.as_expr(self.tex_arg())
        body = guard.as_expr(self.nested(self.term))
        build = sympy.Sum if name == "sum" else sympy.Product
        return build(body, (variable, lower, upper))

    def gcd_lcm(self, name: str) -> sympy.Expr:
        self.expect("(")
        args = [guard.as_expr(a) for a in self.group(")", many=True)]
        if len(args) < 2 or not all(a.is_Integer for a in args):
            raise ParseError(f"{name} needs two or more integers")
        if any(guard.bits(a) > guard.MAX_ARG_BITS for a in args):
            raise ParseError(f"arguments of {name} too large to check")
        combine = sympy.gcd if name == "gcd" else sympy.lcm
        value = args[0]
        for a in args[1:]:
            value = combine(value, a)
        return sympy.Integer(value)
