"""The functional core: pure functions with no I/O, clock or randomness."""
