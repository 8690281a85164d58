"""The source-rewrite wing (``repair codemod``): the contract a source rewrite implements and the engine that runs
them over Python files with LibCST.

Imports ``repair.core`` only, and never TensorFlow (tests/unit/test_layout.py enforces both).
"""
