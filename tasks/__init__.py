"""cargogym.tasks: the Rust task corpus and procedural bug synthesis.

- ``record``: the SWE-bench-compatible :class:`Task` record and JSONL I/O;
- ``corpus``: the built-in crates (``crates/``) and the shipped task set (``builtin_tasks.jsonl``);
- ``syntax`` / ``operators`` / ``mutate``: tree-sitter-rust mutation operators and candidates;
- ``cargo_runner`` / ``validate``: building and testing candidates in pre-built worker copies;
- ``families`` / ``generate`` / ``cli``: task records of the five families, ``cargogym tasks``;
- ``swebench``: SWE-bench-format instances with local crate repos; ``minicrate``: a tiny test crate.
"""
