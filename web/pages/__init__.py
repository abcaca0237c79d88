"""The shop's pages, one module per group."""
