"""Benchmarks: ``make bench`` (or ``python -m bench``) prints one table of measured numbers.

Speed and memory goals live here, not in timed unit tests. Each module has ``run()`` returning
rows ``(group, metric, value, unit, goal)`` and can run alone with ``python -m bench.<module>``.
"""
