"""Developer tools that keep the repository's documentation true (not part of the installed package)."""
