"""Cases whose SavedModel has no usable serving_default signature."""
