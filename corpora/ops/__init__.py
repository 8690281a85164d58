"""Cases with ops the TFLite builtins do not cover."""
