"""Wild source corpus: user scripts rebuilt from public issue threads, as their users wrote them.

The unit scripts in ``corpora/sources/scripts`` are the forms each source rewrite was written for. These are
the forms users write: each ``<id>.py`` here rebuilds, in our own words, the training/export script of one public
thread (its URL is ``SourceCase.url`` and the script's docstring), keeps the shape of the user's code (named
``def`` loop bodies, ``keras.Input(shape=(None, F))``, numpy behavior on, ``tf.lite.Interpreter`` ...) and ends,
like every corpus script, with the reference probe (``corpora/sources/probe.py``): what the user's own Python
computed, in memory.

``tests/e2e/test_codemod_e2e.py`` runs them like the unit scripts, as a user would: the original runs and exports,
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
    SourceCase(
        id="tnp_module_mixed_matmul",
        url="https://github.com/tensorflow/tensorflow/issues/62729",
        summary="tf.Module solver, numpy behavior on: tnp.eye/ones/linspace/asarray of floats meet float32 in tnp.matmul "
                "(float64 export; the old edit set died with a MatMul float32/float64 TypeError)",
        unsafe=True,  # float64 constants become float32
        rewrites=frozenset({"explicit_float32", "swap_tnp_calls"}),
        findings=frozenset({"float64-ops"}),
        atol=1e-5, rtol=1e-5,  # float64 -> float32 constants: float32 rounding of the original
    ),
    SourceCase(
        id="tnp_keras_attention_missed",
        url="https://github.com/tensorflow/tensorflow/issues/49969",
        summary="Keras 3 attention layer, numpy behavior on: dtype=float, int tensor / int tensor and np.float64 "
                "promote the scores to float64 (Flex Mul), producers the old codemod never saw",
        unsafe=True,
        rewrites=frozenset({"explicit_float32", "swap_tnp_calls"}),
        findings=frozenset({"float64-ops"}),
        atol=1e-5, rtol=1e-5,
    ),
    SourceCase(
        id="tnp_anchor_decoder",
        url="https://github.com/fisakhan/Face_Pose/pull/4",
        summary="detector post-processing moved onto tnp: int64 tnp.arange anchors, tnp.full of a float, a np.float64 "
                "module constant as a default argument, .astype(tnp.float64): Flex Mul/AddV2 on f64",
        unsafe=True,
        rewrites=frozenset({"explicit_float32", "swap_tnp_calls"}),
        findings=frozenset({"float64-ops"}),
        atol=1e-5, rtol=1e-5,
    ),
    # --- loops (unroll_while_loop and the loop forms) ---
    SourceCase(
        id="loop_keras_layer_max_iterations",
        url="https://github.com/tensorflow/tensorflow/issues/4387",
        summary="Keras 3 layer call: tf.while_loop(condForWhile, bodyForWhile, ...) with a module-level def condition "
                "(bound as a default argument, tf.less) and maximum_iterations=; model.export: one WHILE; the phone "
                "build pins the batch (strict target)",
        pins=("signal=1,6",),
        rewrites=frozenset({"unroll_while_loop", "pin_none_dims"}),
        findings=frozenset({"while-loop"}),
        diagnose_args=("--target", "tflite-strict"),
        no_while=True,
    ),
    SourceCase(
        id="loop_tflm_while_def",
        url="https://github.com/tensorflow/tensorflow/issues/74665",
        summary="tf.Module for TFLite Micro: tf.while_loop(cond, body, ...) with named defs nested in the method, a "
                "module-constant bound and maximum_iterations=: one WHILE, which the micro runtime fails on",
        rewrites=frozenset({"unroll_while_loop"}),
        findings=frozenset({"while-loop"}),
        diagnose_args=("--target", "tflite-strict"),
        no_while=True,
    ),
    SourceCase(
        id="loop_tensor_array_decoder",
        url="https://github.com/tensorflow/tensorflow/issues/42181",
        summary="greedy decoder collecting ids and scores in tf.TensorArrays over a Python range(MAX_LEN) loop: "
                "TensorListReserve/SetItem/Stack, which the builtins-only converter refuses (no WHILE involved)",
        rewrites=frozenset({"unroll_tensor_array_loop"}),
        findings=frozenset({"tensorlist-loop"}),
        no_while=True,
    ),
    SourceCase(
        id="loop_keras_layer_tf_range",
        url="https://github.com/tensorflow/tensorflow/issues/37134",
        summary="Keras 3 custom recurrent layer: @tf.function call with `for t in tf.range(TIME_STEPS)`, "
                "set_loop_options(shape_invariants=...) and a TensorArray of the steps, model.export: TensorList loop",
        rewrites=frozenset({"unroll_tf_range_loop", "unroll_tensor_array_loop"}),
        findings=frozenset({"tensorlist-loop"}),
        no_while=True,
    ),
    # --- pins (pin_none_dims, add_input_signature) ---
    SourceCase(
        id="sig_module_warmup_call",
        url="https://github.com/tensorflow/tensorflow/issues/37086",
        summary="tf.Module @tf.function without input_signature, traced by a warm-up call, saved without signatures=",
        rewrites=frozenset({"add_input_signature"}),
        unsafe=True,  # the function then only accepts [None, 6] float32
        findings=frozenset({"no-signature-traced"}),
    ),
    SourceCase(
        id="pin_keras3_light_level",
        url="https://github.com/tensorflow/tensorflow/issues/58622",
        summary="Keras 3 tf.keras.layers.Input(shape=(None, None, CHANNELS), name='input_image'), model.export: "
                "shape_signature [-1, -1, -1, 3]; the pin's batch goes into model.export(input_signature=...)",
        pins=("input_image=1,32,32,3",),
        rewrites=frozenset({"pin_none_dims"}),
        findings=frozenset({"dynamic-dims"}),
        diagnose_args=("--target", "tflite-strict"),
    ),
    SourceCase(
        id="pin_tfkeras_sequential_lstm",
        url="https://github.com/tensorflow/tensorflow/issues/40344",
        summary="tf_keras Sequential, LSTM(8, input_shape=(STEPS, FEATURES)) with STEPS = None, model.save: served "
                "as lstm_input [-1, -1, 4]; pinned with batch_size=1, then the static LSTM is unrolled",
        pins=("lstm_input=1,10,4",),
        rewrites=frozenset({"pin_none_dims", "unroll_rnn_layers"}),
        findings=frozenset({"dynamic-dims"}),
        diagnose_args=("--target", "tflite-strict"),
        legacy_keras=True,
    ),
    SourceCase(
        id="pin_keras3_export_signature",
        url="https://github.com/tensorflow/tensorflow/issues/40185",
        summary="Keras 3 model.export(path, input_signature=[tf.TensorSpec(shape=[None, None, ROW], ..., "
                "name='pixels')]): dynamic batch and rows",
        pins=("pixels=1,28,28",),
        rewrites=frozenset({"pin_none_dims"}),
        findings=frozenset({"dynamic-dims"}),
        diagnose_args=("--target", "tflite-strict"),
    ),
    # --- LiteRT migration, newaxis -> expand_dims ---
    SourceCase(
        id="litert_tf_lite_interpreter_streaming",
        url="https://github.com/OHF-Voice/micro-wake-word/issues/85",
        summary="Keras wake-word model checked window by window with tf.lite.Interpreter(model_content=, num_threads=): "
                "deprecated, scheduled for deletion",
        rewrites=frozenset({"migrate_to_litert"}),
    ),
    SourceCase(
        id="litert_tflite_runtime_fallback",
        url="https://github.com/dscripka/openWakeWord/issues/205",
        summary="try: import tflite_runtime.interpreter as tflite / except ImportError: import tensorflow.lite as tflite "
                "(tflite-runtime has no Python 3.12 wheels; only the deprecated fallback runs)",
        rewrites=frozenset({"migrate_to_litert"}),
    ),
    SourceCase(
        id="litert_op_resolver_signature_runner",
        url="https://github.com/Samsung/ONE/issues/15328",
        summary="tf.lite.Interpreter with OpResolverType.BUILTIN_REF, preserve_all_tensors and an optional "
                "load_delegate, run through its signature runner (ai_edge_litert rejects tf.lite's enum)",
        rewrites=frozenset({"migrate_to_litert"}),
    ),
    SourceCase(
        id="litert_from_import_fallback_delegate",
        url="https://github.com/blakeblackshear/frigate/pull/21876",
        summary="from tflite_runtime.interpreter import Interpreter, load_delegate with an except ModuleNotFoundError "
                "fallback to tensorflow.lite.python.interpreter; CPU or Edge TPU detector classes",
        rewrites=frozenset({"migrate_to_litert"}),
    ),
    SourceCase(
        id="newaxis_transformer_padding_mask",
        url="https://github.com/tensorflow/tensorflow/issues/33616",
        summary="Transformer tutorial's create_padding_mask: seq[:, tf.newaxis, tf.newaxis, :] on [?, ?] token ids: "
                "Flex StridedSlice (new_axis_mask)",
        rewrites=frozenset({"expand_dims_not_newaxis"}),
        findings=frozenset({"needs-flex-ops"}),
    ),
    SourceCase(
        id="newaxis_keras_functional_last_dim",
        url="https://github.com/tensorflow/tensorflow/issues/48018",
        summary="Keras functional audio model: waveform[..., None] before Conv1D on keras.Input(shape=(None,)): "
                "Flex StridedSlice (new_axis_mask)",
        rewrites=frozenset({"expand_dims_not_newaxis"}),
        findings=frozenset({"needs-flex-ops"}),
    ),
    SourceCase(
        id="newaxis_keras3_ops_attention_mask",
        url="https://github.com/keras-team/keras-hub/pull/2608",
        summary="Keras 3 keras.ops attention layer: padding_mask[:, None, :] and attention_mask[:, None, :, :] on "
                "dynamic dims: Flex StridedSlice (new_axis_mask)",
        rewrites=frozenset({"expand_dims_not_newaxis"}),
        findings=frozenset({"needs-flex-ops"}),
    ),
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
    SourceCase(
        id="real_gru_subclass_saved_model_save",
        url="https://github.com/tensorflow/tensorflow/issues/69307",
        summary="Keras 3 keras.Model subclass with a GRU, model.build((None, SEQ_LEN, N_FEATURES)) from constants, "
                "tf.saved_model.save: TensorList loop + unbound variables",
        unsafe=True,  # model.export: the input key becomes args_0 (the call argument), not inputs
        rewrites=frozenset({"export_keras_model", "unroll_rnn_layers"}),
        findings=frozenset({"unbound-variables", "tensorlist-loop"}),
    ),
    SourceCase(
        id="real_keras_input_constant_saved_model_save",
        url="https://github.com/tensorflow/serving/issues/1296",
        summary="Keras 3 functional model, Input(name=INPUT_NAME) with INPUT_NAME = 'input_features' (also the "
                "fit dict's key), tf.saved_model.save in an export_for_serving(model, dir) helper; clients send features",
        renames=("input_features=features",),
        unsafe=True,  # model.export: the input key becomes the Input's name
        rewrites=frozenset({"export_keras_model", "rename_serving_keys_source"}),
        findings=frozenset({"unbound-variables", "serving-key-mismatch"}),
        diagnose_args=("--input-keys", "features"),
    ),
    SourceCase(
        id="real_pruned_lstm_tfkeras",
        url="https://github.com/tensorflow/tensorflow/issues/57710",
        summary="tf_keras (from tensorflow import keras) Sequential LSTM with input_shape=(series.shape[1], "
                "series.shape[2]), pruned with tfmot, tf.keras.models.save_model(model_for_pruning, dir)",
        rewrites=frozenset({"strip_pruning_before_export", "unroll_rnn_layers"}),
        findings=frozenset({"pruning-wrappers", "tensorlist-loop"}),
        legacy_keras=True,
    ),
    SourceCase(
        id="real_pruned_dense_clone_tfkeras",
        url="https://github.com/tensorflow/model-optimization/issues/722",
        summary="tf_keras Dense layers pruned through tf.keras.models.clone_model(clone_function=...), "
                "model_for_pruning.save(dir) with its wrappers; Input named input_features, clients send features",
        renames=("input_features=features",),
        rewrites=frozenset({"strip_pruning_before_export", "rename_serving_keys_source"}),
        findings=frozenset({"pruning-wrappers", "resource-variables", "serving-key-mismatch"}),
        diagnose_args=("--input-keys", "features"),
        legacy_keras=True,
    ),
    SourceCase(
        id="real_module_exporter_pruned",
        url="https://github.com/tensorflow/tensorflow/issues/36676",
        summary="tf.Module export class with two input_signature methods holding a tfmot-pruned tf_keras model "
                "(sparsity alias), tf.saved_model.save(exporter, export_dir=...): no signature, pruning wrappers",
        rewrites=frozenset({"export_with_signature", "strip_pruning_before_export"}),
        findings=frozenset({"no-signature-traced", "pruning-wrappers"}),
        legacy_keras=True,
    ),
    SourceCase(
        id="real_module_predict_signature_keys",
        url="https://github.com/GoogleCloudPlatform/training-data-analyst/issues/380",
        summary="tf.Module saved with signatures={'predict': m.predict.get_concrete_function(TensorSpec(..., "
                "name='input_features'), ...)} inline: no serving_default; clients send features",
        renames=("input_features=features",),
        rewrites=frozenset({"export_with_signature", "rename_serving_keys_source"}),
        findings=frozenset({"no-serving-default", "serving-key-mismatch"}),
        diagnose_args=("--input-keys", "features,token_ids"),
    ),
    SourceCase(
        id="real_keras_lambda_numpy_function",
        url="https://github.com/tensorflow/tensorflow/issues/55445",
        summary="Keras 3 Lambda layer whose function calls tf.numpy_function (NumPy clip), model.export: PyFunc "
                "custom op; no automatic fix, a warning",
        warnings=frozenset({"warn_py_function"}),
        findings=frozenset({"needs-custom-ops"}),
        stays_broken=True,
    ),
    SourceCase(
        id="real_module_py_func_nms",
        url="https://github.com/Thinklab-SJTU/R3Det_Tensorflow/issues/102",
        summary="tf.Module serve() with tf.compat.v1.py_func NMS (warned) beside a tf.data map over a def using "
                "tf.py_function (pipeline only: not warned)",
        warnings=frozenset({"warn_py_function"}),
        findings=frozenset({"needs-custom-ops"}),
        stays_broken=True,
    ),
    SourceCase(
        id="real_tfkeras_layer_py_function",
        url="https://github.com/tensorflow/tensorflow/issues/34674",
        summary="tf_keras custom Layer calling tf.py_function(func=..., inp=..., Tout=...), model.save(dir): "
                "EagerPyFunc custom op; no automatic fix, a warning",
        warnings=frozenset({"warn_py_function"}),
        findings=frozenset({"needs-custom-ops"}),
        stays_broken=True,
        legacy_keras=True,
    ),
)
