"""The scenarios run against one stack, one module each. Each returns the figures it
measured; the harness checks the invariants after each."""
