"""The harness of the self-improvement benchmarks (``benchmarks/self_improve.py`` on arithmetic,
``benchmarks/code_self_improve.py`` on code; each script is the specification: tasks, arms,
budget): data (leakage-checked splits), arms (training within a wall-clock budget), scoring
(per-problem results), stats (bootstrap intervals), record (provenance), summary and report
(the arithmetic record's intervals, table and PNG), by_split (a record scored split by split:
its summary, table and PNG), child (a phase in a fresh process), phases (the arithmetic
benchmark's resumable phases) and tuning (what the tuning scripts share: variants, a resumable
record of runs)."""
