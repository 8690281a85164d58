"""explicit_float32: the float64 producers of NumPy-style model code become float32, decided per data-flow group."""

from __future__ import annotations

import libcst as cst

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source._analysis import kwarg, with_keyword
from rewrites.source._float64_flow import Group, GroupDecider, Producer, module_of
from rewrites.source.swap_tnp_calls import data_args


class _Float32(GroupDecider):
    partner = "swap_tnp_calls"
    data_args = staticmethod(data_args)

    def decide(self, node: cst.CSTNode, group: Group) -> None:
        free = [p for p in group.producers if not p.blocked]
        if not free:
            return  # nothing here could change: nothing to decide or to warn about
        if group.blocked:
            why = "; ".join(f"{p.label} (line {p.line}) is {p.blocked}" for p in group.blocked)
            way_out = "remove the ignore comment, or make them float32 by hand" \
                if any("ignore" in p.blocked for p in group.blocked) else \
                "`repair fix` (compute_in_float32) keeps a float64 interface and computes in float32 inside"
            self.warn(free[0].node, f"float64 left as it is: {group.describe()} meet in one op, and {why}; making "
                      f"only the others float32 would mix float32 and float64 (tf ops do not promote), so nothing "
                      f"was changed: {way_out}")
            return
        met = f"; their values meet in one op, so all {len(group.producers)} change together" \
            if len(group.producers) > 1 else ""
        site = self._site(group.producers[0].node, f"float64 -> float32: {group.describe()}{met}", Safety.UNSAFE)
        if site is not None and self.select(site):
            self._accepted.update(id(p.node) for p in group.producers)

    def _producer(self, original: cst.CSTNode) -> Producer | None:
        if id(original) not in self._accepted:
            return None
        return next(p for p in self.flow.group_of[id(original)].producers if p.node is original)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        producer = self._producer(original)
        return updated if producer is None else updated.with_changes(attr=cst.Name("float32"))

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        producer = self._producer(original)
        if producer is None:
            return updated
        quote = updated.value[-1]
        return updated.with_changes(value=f"{updated.prefix}{quote}float32{quote}")

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        # A builtin ``float`` as a dtype: every library here reads the string.
        return updated if self._producer(original) is None else cst.SimpleString('"float32"')

    def leave_BinaryOperation(self, original: cst.BinaryOperation, updated: cst.BinaryOperation) -> cst.BaseExpression:
        producer = self._producer(original)
        if producer is None:
            return updated
        tf, imports = self.tf()
        self.imports.extend(imports)
        sides = [updated.left, updated.right]
        for index in producer.literal_args:
            sides[index] = self._cast(tf, sides[index])
        return updated.with_changes(left=sides[0], right=sides[1])

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        producer = self._producer(original)
        if producer is None:
            return updated
        module = module_of(self.names, original)
        if producer.kind == "np_astype":
            dtype = cst.Attribute(module, cst.Name("float32")) if module is not None else cst.SimpleString('"float32"')
            return cst.Call(cst.Attribute(updated, cst.Name("astype")), [cst.Arg(dtype)])
        if producer.kind == "add_dtype":
            return with_keyword(updated, "dtype", self._float32(module))
        if producer.kind == "wrap":
            if module is None:
                tf, imports = self.tf()
                self.imports.extend(imports)
                return self._cast(tf, updated)
            return cst.Call(cst.Attribute(module, cst.Name("asarray")),
                            [cst.Arg(updated, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                             kwarg("dtype", cst.Attribute(module, cst.Name("float32")))])
        # literal_args: the Python-float data becomes a float32 array; the tnp call stays.
        args = list(updated.args)
        for index in producer.literal_args:
            literal = args[index].value
            if module is None:
                tf, imports = self.tf()
                self.imports.extend(imports)
                wrapped = cst.Call(cst.Attribute(cst.Name(tf), cst.Name("constant")),
                                   [cst.Arg(literal, comma=_COMMA),
                                    kwarg("dtype", cst.Attribute(cst.Name(tf), cst.Name("float32")))])
            else:
                wrapped = cst.Call(cst.Attribute(module, cst.Name("asarray")),
                                   [cst.Arg(literal, comma=_COMMA), kwarg("dtype", cst.Attribute(module, cst.Name("float32")))])
            args[index] = args[index].with_changes(value=wrapped)
        return updated.with_changes(args=args)

    def _float32(self, module: cst.BaseExpression | None) -> cst.BaseExpression:
        """float32 spelled through the call's own module (tnp.float32, np.float32), or tf.float32 for a from-import."""
        if module is not None:
            return cst.Attribute(module, cst.Name("float32"))
        tf, imports = self.tf()
        self.imports.extend(imports)
        return cst.Attribute(cst.Name(tf), cst.Name("float32"))

    @staticmethod
    def _cast(tf: str, expr: cst.BaseExpression) -> cst.Call:
        return cst.Call(cst.Attribute(cst.Name(tf), cst.Name("cast")),
                        [cst.Arg(expr, comma=_COMMA), cst.Arg(cst.Attribute(cst.Name(tf), cst.Name("float32")))])


_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


class ExplicitFloat32(SourceRewrite):
    """Make the float64 of NumPy-style model code float32, one data-flow group at a time.

    What it fixes:
        Every float64 (or promoting int64) producer of NumPy-style model code, measured on TF 2.21 with NumPy 2
        (numpy behavior on, off and prefer_float32): tnp.asarray / tnp.array of Python floats (a float literal,
        a list or tuple containing one, [0.1] * 8), tnp.eye / identity / ones / zeros / empty / tri / geomspace /
        full of a float, tnp.arange (int64, promotes) get dtype=float32; tnp.linspace / logspace (they ignore
        dtype=) and tnp.random.rand / randn / standard_normal / uniform are cast; tnp math on Python float data that
        swap_tnp_calls cannot take alone gets float32 arrays; every spelled float64 becomes float32 in the same
        spelling (tnp.float64, np.float64(0.5), tf.float64 in tf.cast, dtype=float, "float64" in a dtype position,
        x.astype(tnp.float64), a dtype constant or a dtype= default); NumPy float arrays that reach model code
        (np.array([0.5]) kept on self, np.random.randn(3)) get dtype float32 or .astype(np.float32); and `/`
        between integer tensors (tf.shape(x)[0] / 2, tf.range(n) / n: float64) or an integer tensor meeting a
        Python float (tf.range(3) * 1.5: float64 under numpy behavior) casts the integer tensors.
        The decision is per group: producers whose values meet in one op (see below) all change, or none does,
        as one site. A group with a member that cannot change gets a display-only warning instead, never a
        partial edit.
    Why it fails:
        docs/facts.md section 3: `tnp.add(x, tnp.asarray([0.1]*8))` and `x * tnp.linspace(0, 1, 8)` convert only with Flex
        AddV2/Mul on f64 tensors; `x * tnp.arange(8)` fails that way in all three numpy modes. Measured for this
        rewrite: with numpy behavior on, `x @ tnp.eye(3)`, `x * np.float64(2)`, `x + np.array([1., 2., 3.])`,
        `tnp.asarray(x, float)`, `tf.range(3) / 2` and `tf.shape(x)[0] / 2` are float64, while `x + 1.5` stays
        float32 (a Python scalar next to a tensor is weak); tnp.linspace and tnp.logspace ignore dtype= (NumPy 2
        rules take the type of `start * 1.0`); the other constructors honour it. Not producers (measured):
        tnp.ones_like(x) / full_like(x, 1.5) keep x's dtype, x.astype(float) and tf.cast(x, float) are float32,
        tnp.random.randint is int64 (left alone). Making only some producers float32 breaks scripts: tnp ops
        and operators promote float32 to meet float64, tf ops do not (`TypeError: Input 'b' of 'MatMul' Op has
        type float32 that does not match type float64 of argument 'a'` after a tnp.matmul -> tf.linalg.matmul
        swap). Hence one decision per group.
    How groups are found:
        rewrites/source/_float64_flow.py reads the file once, per scope as Python resolves names (locals,
        enclosing functions, module constants, default arguments), `self.attr` per class, in-file functions
        (arguments join parameters, `return` joins the call) and class constructors (arguments join `__init__`).
        Everything one statement reads and writes is joined: joining more than the real data flow only makes a
        group larger, never inconsistent. tnp producers count anywhere; NumPy and tf.float64 ones only where
        their group reaches model code (a method or a @tf.function), so test data built in main() is left alone.
        Limits: values passed through containers, getattr, other files or another object's attributes
        (model.w), float64 arriving from outside the file (a caller's argument, a checkpoint), and tnp math on a
        Python number held in a variable (tnp.sqrt(self.dim)) are not seen. A group member that is a float64
        serving contract (tf.TensorSpec / keras.Input dtype, set_floatx) or sits on a `# repair: ignore` line
        blocks its group: a warning says which and why.
    Safety:
        unsafe: constants are computed in float32 instead of float64, an arange becomes float32 instead of
        int64, an integer division is done in float32. An arange used directly as an index
        (x[tnp.arange(n)], take/gather/one_hot) is no producer and is left alone; review the others where the
        result is used as an index. dtypes are spelled with the call's own module (tnp.asarray -> dtype=tnp.float32,
        np2.linspace -> np2.asarray(..., dtype=np2.float32), np.array -> dtype=np.float32): no new import, and it
        reads as the NumPy code it is; a from-imported function gets tf.float32 (tnp accepts tf dtypes), a
        from-imported linspace tf.cast, a builtin `float` the string "float32".
    References:
        docs/facts.md section 3 and section 9.1; the model-level counterpart is compute_in_float32.
    """

    id = "explicit_float32"
    title = ("float64 of NumPy-style code (tnp constructors, spelled float64, NumPy arrays, int / int) -> float32, "
             "per data-flow group")
    safety = Safety.UNSAFE
    answers = frozenset({FindingKind.FLOAT64_OPS, FindingKind.NEEDS_FLEX_OPS})
    model_rewrite = "compute_in_float32"
    triggers = ("experimental",)  # tnp and numpy behavior are only reachable through tensorflow.experimental
    modules = ("tensorflow.experimental.numpy",)
    examples = (
        Example(
            "import tensorflow.experimental.numpy as tnp\n\n"
            "def f(x):\n    return tnp.add(x, tnp.asarray([0.1] * 8))  # bias\n",
            "import tensorflow.experimental.numpy as tnp\n\n"
            "def f(x):\n    return tnp.add(x, tnp.asarray([0.1] * 8, dtype=tnp.float32))  # bias\n",
            unsafe=True,
        ),
        Example(
            "from tensorflow.experimental import numpy as np2\n\n"
            "w = np2.linspace(0, 1, 8)\nr = np2.arange(8)\nc = np2.array([[1, 2.5], [3, -4]])\n",
            "from tensorflow.experimental import numpy as np2\n\n"
            "w = np2.asarray(np2.linspace(0, 1, 8), dtype=np2.float32)\nr = np2.arange(8, dtype=np2.float32)\n"
            "c = np2.array([[1, 2.5], [3, -4]], dtype=np2.float32)\n",
            unsafe=True,
        ),
        Example(
            "import tensorflow as tf\n\ny = x * tf.experimental.numpy.asarray(\n    [0.5, 1.5],\n)\n"
            "z = tf.experimental.numpy.linspace(0, 1, 2, dtype=tf.float32)\n",
            "import tensorflow as tf\n\ny = x * tf.experimental.numpy.asarray(\n    [0.5, 1.5],\n"
            "    dtype=tf.experimental.numpy.float32,\n)\n"
            "z = tf.experimental.numpy.asarray(tf.experimental.numpy.linspace(0, 1, 2, dtype=tf.float32), "
            "dtype=tf.experimental.numpy.float32)\n",
            unsafe=True,
        ),
        Example(
            "from tensorflow.experimental.numpy import asarray, linspace\n\nw = linspace(0.0, 1.0, num=8) + asarray(0.5)\n",
            "from tensorflow.experimental.numpy import asarray, linspace\nimport tensorflow as tf\n\n"
            "w = tf.cast(linspace(0.0, 1.0, num=8), tf.float32) + asarray(0.5, dtype=tf.float32)\n",
            unsafe=True,
        ),
        Example(  # one group: eye, ones, linspace and the Python floats meet in the matmul; all change together
            "import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\n"
            "tnp.experimental_enable_numpy_behavior()\n\n\n"
            "@tf.function\ndef solve(x):\n    basis = 0.5 * tnp.eye(3) + tnp.ones((3, 3)) / 3\n"
            "    return tnp.matmul(x * tnp.linspace(0.0, 1.0, 3), basis) + tnp.multiply(x, [0.5, 1.5, 2.5])\n",
            "import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\n"
            "tnp.experimental_enable_numpy_behavior()\n\n\n"
            "@tf.function\ndef solve(x):\n"
            "    basis = 0.5 * tnp.eye(3, dtype=tnp.float32) + tnp.ones((3, 3), dtype=tnp.float32) / 3\n"
            "    return tnp.matmul(x * tnp.asarray(tnp.linspace(0.0, 1.0, 3), dtype=tnp.float32), basis) + "
            "tnp.multiply(x, tnp.asarray([0.5, 1.5, 2.5], dtype=tnp.float32))\n",
            unsafe=True,
        ),
        Example(  # spelled float64, NumPy data kept by model code, module constants, defaults, returns, int / int
            "import numpy as np\nimport tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\n"
            "SCALE = np.float64(0.5)\nDTYPE = \"float64\"\n\n\n"
            "def basis(n, dtype=float):\n    return tnp.eye(n, dtype=dtype)\n\n\n"
            "class Layer(tf.Module):\n    def __init__(self):\n        self.bias = np.array([0.1, 0.2, 0.3])\n"
            "        self.w = tnp.ones((3, 3), DTYPE)\n\n"
            "    @tf.function\n    def __call__(self, x):\n"
            "        y = tnp.matmul(x, basis(3)) * SCALE + self.bias + tf.range(3) / 3 + tf.size(x) * 0.5\n"
            "        return tnp.matmul(y, self.w).astype(tnp.float64) + tnp.random.randn(3)\n",
            "import numpy as np\nimport tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\n"
            "SCALE = np.float32(0.5)\nDTYPE = \"float32\"\n\n\n"
            "def basis(n, dtype=\"float32\"):\n    return tnp.eye(n, dtype=dtype)\n\n\n"
            "class Layer(tf.Module):\n    def __init__(self):\n"
            "        self.bias = np.array([0.1, 0.2, 0.3], dtype=np.float32)\n"
            "        self.w = tnp.ones((3, 3), DTYPE)\n\n"
            "    @tf.function\n    def __call__(self, x):\n"
            "        y = tnp.matmul(x, basis(3)) * SCALE + self.bias + tf.cast(tf.range(3), tf.float32) / 3 + "
            "tf.cast(tf.size(x), tf.float32) * 0.5\n"
            "        return tnp.matmul(y, self.w).astype(tnp.float32) + "
            "tnp.asarray(tnp.random.randn(3), dtype=tnp.float32)\n",
            unsafe=True,
        ),
        Example(  # a Keras layer: NumPy weights and constants built in __init__, from-imported tnp functions
            "import numpy as np\nimport tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n"
            "from tensorflow.experimental.numpy import linspace, random\n\n\n"
            "class Block(tf.keras.layers.Layer):\n    def __init__(self):\n        super().__init__()\n"
            "        self.w = tf.Variable(np.random.randn(4, 4))\n"
            "        self.mean = tf.constant(np.array([0.5, 1.5, 2.5, 3.5]))\n\n"
            "    def call(self, x):\n        h = tnp.matmul(x - self.mean, self.w) * linspace(0.0, 1.0, 4)\n"
            "        return h + random.randn(4) + tnp.asarray(x, float)\n\n\n"
            "def main():\n    x = np.random.randn(2, 4)\n    print(Block()(x.astype(\"float32\")))\n",
            "import numpy as np\nimport tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n"
            "from tensorflow.experimental.numpy import linspace, random\n\n\n"
            "class Block(tf.keras.layers.Layer):\n    def __init__(self):\n        super().__init__()\n"
            "        self.w = tf.Variable(np.random.randn(4, 4).astype(np.float32))\n"
            "        self.mean = tf.constant(np.array([0.5, 1.5, 2.5, 3.5], dtype=np.float32))\n\n"
            "    def call(self, x):\n"
            "        h = tnp.matmul(x - self.mean, self.w) * tf.cast(linspace(0.0, 1.0, 4), tf.float32)\n"
            "        return h + tf.cast(random.randn(4), tf.float32) + tnp.asarray(x, \"float32\")\n\n\n"
            "def main():\n    x = np.random.randn(2, 4)\n    print(Block()(x.astype(\"float32\")))\n",
            unsafe=True,
        ),
        # Warned about, never half-done: a float64 serving contract or an ignore comment in the group.
        Example("import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\n\n"
                "@tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float64)])\n"
                "def f(x):\n    return tnp.matmul(x, tnp.eye(3))\n", warns=1),
        Example("import tensorflow.experimental.numpy as tnp\n\n\n"
                "def f(x):\n    a = tnp.ones(3)  # repair: ignore\n    b = tnp.zeros(3)\n    return x * a + b\n",
                warns=1),
        # Left alone: a float32 dtype, data that is a tensor or integers, an arange used as indices, a linspace
        # cast already, a (samples, step) pair, plain NumPy, NumPy test data that never reaches model code, an
        # ignore comment.
        Example("import tensorflow.experimental.numpy as tnp\n\n"
                "a = tnp.asarray([0.1], dtype=tnp.float32)\nb = tnp.asarray(x)\nc = tnp.asarray([1, 2])\n"
                "d = tnp.arange(0, 8, 1, tnp.int32)\ne = x[tnp.arange(3)]\nf = tnp.take(x, tnp.arange(3))\n"
                "g = tnp.asarray(tnp.linspace(0, 1, 8), dtype=tnp.float32)\nh = tnp.eye(3, dtype=tnp.int32)\n"
                "i, step = tnp.linspace(0, 1, 8, retstep=True)\n"),
        Example("import numpy as np\nimport tensorflow.experimental.numpy as tnp\n\n"
                "y = np.asarray([0.1]) * np.linspace(0, 1, 4)\n\n\n"
                "def main(model):\n    x = np.random.randn(2, 3)\n    print(model(tnp.asarray(x, dtype=tnp.float32)))\n"),
        Example("import tensorflow.experimental.numpy as tnp\n\nw = tnp.linspace(0, 1, 8)  # repair: ignore\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Float32(self, ctx, select)
