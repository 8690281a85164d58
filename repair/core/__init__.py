"""The shared vocabulary every wing speaks: findings, safety levels, options, errors, decisions, escaping, publishing.

Imports nothing from the rest of ``repair``. Only ``tfenv`` imports TensorFlow, and only when asked.
"""
