"""What a verification established, as plain values that cross process boundaries as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Check", "Verdict", "VerdictStatus", "CheckOutcome", "Equivalence",
    "failed_evidence", "shorten",
]  # fmt: skip

VerdictStatus = Literal["verified", "refuted", "unverified"]
CheckOutcome = Literal["passed", "failed", "not_applicable", "error"]


@dataclass(frozen=True, slots=True)
class Check:
    """One check and its certificate: what was computed and what came out."""

    name: str
    outcome: CheckOutcome
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "outcome": self.outcome, "detail": self.detail}


def shorten(value: object, limit: int = 120) -> str:
    """Evidence stays readable: a 5,000-digit value is shown by its ends."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:60]}…{text[-40:]} ({len(text)} chars)"


def failed_evidence(checks: tuple[Check, ...]) -> str:
    """The details of the failed checks: what a refutation shows the user and the model."""
    return "; ".join(c.detail for c in checks if c.outcome == "failed")


@dataclass(frozen=True, slots=True)
class Verdict:
    """`verified` only when a check passed; `refuted` carries the evidence.

    `computed` is the answer SymPy worked out itself, when it did so exactly and completely (the
    value of an expression, every root of an equation, every solution of a system), written as
    an answer `check_answer` verifies: `391`, `x = -1/3, x = -1`, `x = 6, y = 4`, or for several
    solutions of a system `(1, 2), (2, 1)` in the alphabetical order of the unknowns."""

    status: VerdictStatus
    checks: tuple[Check, ...] = field(default_factory=tuple)
    computed: str | None = None

    @property
    def evidence(self) -> str:
        return failed_evidence(self.checks)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        checks = tuple(Check(c["name"], c["outcome"], c["detail"]) for c in data["checks"])
        return cls(data["status"], checks, data.get("computed"))

    def to_dict(self) -> dict[str, Any]:
        checks = [c.to_dict() for c in self.checks]
        return {"status": self.status, "checks": checks, "computed": self.computed}


@dataclass(frozen=True, slots=True)
class Equivalence:
    """Whether two answers mean the same: True, False, or None when it cannot be decided."""

    equivalent: bool | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"equivalent": self.equivalent, "reason": self.reason}
