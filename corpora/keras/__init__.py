"""Cases that pass a Keras file, or a Keras SavedModel saved the wrong way."""
