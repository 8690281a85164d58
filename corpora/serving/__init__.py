"""Cases whose signature keys do not match what the consumer sends."""
