"""Prefect flows and their tasks: the pipeline, the stream and its supervisor, CSV ingest, gold."""
