"""Spark jobs: bronze and silver, and where they meet."""
