"""Dashboards as code: ``spec.yaml`` rendered into Apache Superset, over the DuckDB catalog or Athena."""
