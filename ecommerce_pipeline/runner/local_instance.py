"""The local Dagster instance's storage: SQLite files under one folder, with the project's event log."""

from pathlib import Path

# Where the storage classes live; written as names so this module loads without Dagster.
_SECTIONS = {
    "run_storage": ("dagster._core.storage.runs", "SqliteRunStorage", "history"),
    "event_log_storage": ("ecommerce_pipeline.runner.event_log", "KeptEngineSqliteEventLogStorage", "history/runs"),
    "schedule_storage": ("dagster._core.storage.schedules", "SqliteScheduleStorage", "schedules"),
}


def local_storage_config(base_dir: str) -> dict:
    """The storage sections of a local ``dagster.yaml``: Dagster's SQLite layout under ``base_dir`` (as
    ``storage: sqlite:`` would lay it out) with the project's event log (``runner/event_log.py``). The
    repository's ``dagster.yaml`` spells out the same (a test compares them)."""
    return {
        key: {"module": module, "class": cls, "config": {"base_dir": f"{base_dir}/{folder}"}}
        for key, (module, cls, folder) in _SECTIONS.items()
    }


def write_local_instance(home: Path) -> None:
    """A ``dagster.yaml`` in ``home``, a DAGSTER_HOME this project creates (the CLI's ``.dagster`` outside the
    repository, the benchmark's runs): its storage in the layout Dagster gives a home without one, no telemetry."""
    import yaml  # a dependency of Dagster's

    config = {**local_storage_config(str(home)), "telemetry": {"enabled": False}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
