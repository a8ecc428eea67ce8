"""Background jobs: long or vendor-bound admin operations run by a worker with live progress.

`models` (the Job row) → `services` (start, progress, finish, fail) → `tasks` (run_job and the
HANDLERS table) → `admin` (the Job pages, the progress JSON, `job_started_response`).
See "Jobs" in docs/architecture.md.
"""
