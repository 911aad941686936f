"""The command line's progress display: a Dagster logger printing one line per finished step and failed check."""

from __future__ import annotations

import logging
import time

import dagster as dg

from ecommerce_pipeline.defs.jobs import medallion_job_def


class Progress(logging.Handler):
    """Prints one line per finished step and per failed check, instead of Dagster's debug stream."""

    current: Progress | None = None  # the display of the run executing in this process

    def __init__(self, total_steps: int):
        super().__init__()
        self.total = total_steps
        self.done = 0
        self.started: dict[str, float] = {}
        self.failed_checks: list[str] = []

    @classmethod
    def start(cls, total_steps: int) -> Progress:
        cls.current = cls(total_steps)
        return cls.current

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event") if isinstance(meta, dict) else None
        if event is None:
            return
        kind, step = event.event_type_value, event.step_key
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            self.done += 1
            took = time.perf_counter() - self.started.get(step, time.perf_counter())
            mark = {"STEP_SUCCESS": "ok  ", "STEP_FAILURE": "FAIL", "STEP_SKIPPED": "skip"}[kind]
            print(f"  [{self.done:>2}/{self.total}] {mark} {step.replace('__', '/')} ({took:.1f}s)", flush=True)
            if kind == "STEP_FAILURE":
                error = event.step_failure_data.error
                print(f"         {error.message.strip().splitlines()[0] if error else 'failed'}", flush=True)
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                if evaluation.severity == dg.AssetCheckSeverity.WARN:
                    # A warning (landing paths not used) is shown, and does not fail the run.
                    print(f"         check warned: {name}", flush=True)
                    return
                self.failed_checks.append(name)
                print(f"         check failed: {name}", flush=True)


@dg.logger
def progress_logger(_init_context) -> logging.Logger:
    logger = logging.Logger("ecommerce_pipeline.progress", level=logging.DEBUG)
    if Progress.current is not None:
        logger.addHandler(Progress.current)
    return logger


def progress_job() -> dg.JobDefinition:
    """The medallion job reporting to ``Progress.current``; module-level, so ``dg.reconstructable`` can rebuild it."""
    return medallion_job_def().with_logger_defs({"progress": progress_logger})
