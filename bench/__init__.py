"""Benchmarks that print ratios and quality figures; never run as unit tests."""
