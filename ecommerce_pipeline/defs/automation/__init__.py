"""Automation: the daily schedule, the landing arrival sensor, the late-data follow-up and failure alerts."""

import dagster as dg

from ecommerce_pipeline.defs.jobs import medallion_job

# Sensors that start runs are opt-in: an operator turns them on in the UI's Automation page, so a fresh
# `dagster dev` does not start processing whatever already sits in the landing folder.
OPT_IN_SENSOR = dict(job=medallion_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
