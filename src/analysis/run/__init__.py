"""Running a study: the pipeline, notebook execution, village batches, replication packages, the CLI."""

import sys

# jsonschema (imported by nbformat, so by every process that runs or exports a notebook) loads
# rfc3987_syntax when it is installed, as jupyterlab's jupyter-events makes it, to check the "iri"
# string format; importing it builds an Earley parser, 0.9 s of CPU in the command and in each
# batch worker. No notebook schema uses that format, so the processes that run studies do without
# it (a process that imported it already keeps it).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
