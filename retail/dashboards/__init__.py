"""Superset over gold: its secrets and API, the dashboards-as-code bundle built from ``dashboards/`` and the gold
marts' dbt contracts, and the live feed of sales per minute."""
