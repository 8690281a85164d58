"""``repair batch``: a zoo of models through ``repair fix``, one child process each, locally or on a Ray cluster.

Imports ``repair.core`` only: each model runs in its own ``repair fix`` process.
"""
