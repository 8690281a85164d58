"""The graph-surgery toolkit rewrites use: freeze, splice and re-save a serving function, walk function libraries,
remove TensorList loops, choose a graph's inputs and outputs.

Imports ``repair.core`` and ``repair.model``.
"""
