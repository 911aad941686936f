"""Automation: the daily schedule, the landing arrival sensor, the late-data follow-up and failure alerts."""
