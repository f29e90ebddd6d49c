"""Benchmarks, run by `make bench` (`python -m bench`); not part of `make test`.

- bench.transfers: the tracking page and transfer API against two references (issue 2).
- bench.queue (when present): the back-office queue (issue 3), called as
  ``run_queue_bench(pg_url) -> dict``.

``pg_url`` is the PostgreSQL *server* to use (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/postgres): each benchmark creates its own throwaway
database on it and drops it at the end (bench.support.create_database / drop_database).
Results go to bench-results/ (gitignored) as JSON and Markdown.
"""
