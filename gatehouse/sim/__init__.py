"""Simulated parts of the product for load tests and benchmarks (real protocol, real broker)."""
