"""Cases with tfmot pruning wrappers left in."""
