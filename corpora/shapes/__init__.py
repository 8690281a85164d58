"""Cases with None in non-batch dimensions."""
