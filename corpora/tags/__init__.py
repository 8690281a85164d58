"""Cases whose SavedModel has no meta graph tagged exactly {serve}."""
