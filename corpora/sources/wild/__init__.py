"""Wild source corpus: user scripts rebuilt from public issue threads, as their users wrote them.

The unit scripts in ``corpora/sources/scripts`` are the forms each source rewrite was written for. These are
the forms users write: each ``<id>.py`` here rebuilds, in our own words, the training/export script of one public
thread (its URL is ``SourceCase.url`` and the script's docstring), keeps the shape of the user's code (named
``def`` loop bodies, ``keras.Input(shape=(None, F))``, numpy behavior on, ``tf.lite.Interpreter`` ...) and ends,
like every corpus script, with the reference probe (``corpora/sources/probe.py``): what the user's own Python
computed, in memory.

``tests/test_codemod_e2e.py`` runs them like the unit scripts, as a user would: the original runs and exports,
``repair codemod --write`` (with the case's flags) rewrites a copy, the copy runs in a fresh interpreter and
exports, and a judge that does not trust the tool checks the export: ``repair diagnose`` has no blocking finding,
the default (builtins-only) converter converts it, the SavedModel and the .tflite match the original script's
outputs within the case's tolerance, pinned inputs have exactly the pinned shape, and loop cases hold no WHILE.

The tuple is grouped by the class of failure; keep each group's cases together.
"""

from __future__ import annotations

from corpora.sources import SourceCase

WILD_SOURCE_CASES: tuple[SourceCase, ...] = (
    # --- float64 under numpy behavior (swap_tnp_calls, explicit_float32) ---
    # --- loops (unroll_while_loop and the loop forms) ---
    # --- pins (pin_none_dims, add_input_signature) ---
    # --- LiteRT migration, newaxis -> expand_dims ---
    # --- the other source rewrites on real scripts ---
    SourceCase(
        id="real_lstm_sensor_saved_model_save",
        url="https://github.com/tensorflow/tensorflow/issues/70502",
        summary="Keras 3 (from tensorflow import keras) Sequential LSTM over TIMESTEPS/N_FEATURES module constants, "
                "build_model() whose local is also called model, tf.saved_model.save: TensorList loop + garbage",
        unsafe=True,  # model.export renames the input key 'inputs' -> the Input's name
        rewrites=frozenset({"export_keras_model", "unroll_rnn_layers"}),
        findings=frozenset({"unbound-variables", "tensorlist-loop"}),
    ),
)
