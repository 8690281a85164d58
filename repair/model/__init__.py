"""The artifact and what can be learned from it: reading SavedModels and Keras files, the working model, conversion,
.tflite inspection and interpretation, numeric parity, and the static checks made before anything loads.

Imports ``repair.core`` only.
"""
