"""cargogym.eval: metrics over stored episode records, promotion gates and reports.

Modules: ``runs`` (read a run directory), ``records`` (defensive field access), ``metrics``
(definitions; see docs/METRICS.md), ``bootstrap`` (seeded intervals), ``routing`` (expert load per
role), ``gates`` (promotion stages), ``report`` / ``compare`` / ``plots`` (outputs), ``cli``.
Importing this package pulls in numpy only (matplotlib is imported when plotting).
"""
