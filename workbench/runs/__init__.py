"""Folder runs, job files and output files: clients of the public API."""
