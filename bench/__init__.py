"""Benchmarks (scripts, not tests): `make bench` runs `python -m bench.backbone`."""
