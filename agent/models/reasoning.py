"""Where conversations saved by verimath 0.1 find `Generation`.

A checkpoint names each value's class by module, and 0.1 kept `Generation` here; it now lives
with the rest of the reasoning split in `verimath.graphs.reasoning`. This alias keeps those
saved conversations loadable. New code imports it from `verimath.graphs.reasoning`.
"""

from verimath.graphs.reasoning import Generation

__all__ = ["Generation"]
