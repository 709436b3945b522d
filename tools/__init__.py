"""Verification tools: answer extraction, sandboxed SymPy checks and their verdicts.

Importing this package imports no SymPy: parsing happens in worker processes only.
"""

from verimath.tools.extract import extract_final_answer, find_boxed
from verimath.tools.sandbox import SandboxFailure, SandboxPool, SandboxTimeout
from verimath.tools.verdict import Check, Equivalence, Verdict
from verimath.tools.verifier import Verifier

__all__ = [
    "extract_final_answer",
    "find_boxed",
    "Check",
    "Verdict",
    "Equivalence",
    "Verifier",
    "SandboxPool",
    "SandboxTimeout",
    "SandboxFailure",
]
