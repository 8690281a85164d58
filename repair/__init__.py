"""repair: diagnose and repair TensorFlow models that fail to convert to TFLite or to serve."""

__version__ = "0.1.0"
