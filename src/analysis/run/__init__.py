"""Running a study: the pipeline, notebook execution, village batches, replication packages, the CLI."""
