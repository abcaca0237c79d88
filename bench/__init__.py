"""Benchmarks of the running system (not tests): ``python -m bench``; see bench/README.md."""
