"""The pieces of ``benchmarks/self_improve.py``: data (leakage-checked splits), arms (training
within a wall-clock budget), scoring (per-problem results), record (provenance), summary
(bootstrap intervals) and report (markdown table and PNG)."""
