"""Topology as code: files -> a validated model -> a plan against the broker -> applying it.

Its loading hot path runs compiled or as pure Python, the same sources (see :mod:`mqctl.build`).
"""

from mqctl.build import choose_build

choose_build()  # before any module of the compiled set loads: compiled, or their sources
