"""The benchmark suite of issue 8: `python -m bench` (or `make bench`) runs every figure against
SQLite and PostgreSQL on data it makes itself, and prints one table. See docs/benchmarks.md."""
