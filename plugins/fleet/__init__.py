"""fleet plugin (in progress)."""
