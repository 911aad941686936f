"""The command line's progress display: a Dagster logger printing one line per finished step and failed check."""

from __future__ import annotations

import logging
import time

import dagster as dg

from ecommerce_pipeline.defs.errors import describe_failure
from ecommerce_pipeline.runner.run import medallion_job_def


class Progress(logging.Handler):
    """Prints one line per finished step and per failed check, instead of Dagster's debug stream.

    A failed step is reported by its root cause (exception type, message and the last frame in our code),
    never only by Dagster's retry wrapper; the first retry of a step already says why it is retried.
    """

    current: Progress | None = None  # the display of the run executing in this process

    def __init__(self, total_steps: int):
        super().__init__()
        self.total = total_steps
        self.done = 0
        self.started: dict[str, float] = {}
        self.failed_checks: list[str] = []  # checks that failed with severity ERROR: the run is not green
        self.warned_checks: list[str] = []  # checks that failed with severity WARN: reported, not fatal
        self.failures: list[str] = []  # one root-cause line per failed step
        self._retried: set[str] = set()

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
        elif kind == "STEP_UP_FOR_RETRY" and step not in self._retried:
            self._retried.add(step)
            cause = describe_failure(None, event.event_specific_data.error)
            print(f"         retrying {step.replace('__', '/')}: {cause}", flush=True)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            self.done += 1
            took = time.perf_counter() - self.started.get(step, time.perf_counter())
            mark = {"STEP_SUCCESS": "ok  ", "STEP_FAILURE": "FAIL", "STEP_SKIPPED": "skip"}[kind]
            print(f"  [{self.done:>2}/{self.total}] {mark} {step.replace('__', '/')} ({took:.1f}s)", flush=True)
            if kind == "STEP_FAILURE":
                cause = describe_failure(step.replace("__", "/"), event.step_failure_data.error)
                self.failures.append(cause)
                print(f"         {cause}", flush=True)
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                reason = evaluation.metadata.get("reason")
                detail = f": {reason.value}" if reason is not None else ""
                if evaluation.severity == dg.AssetCheckSeverity.WARN:
                    self.warned_checks.append(name + detail)
                    print(f"         check warned: {name}{detail}", flush=True)
                else:
                    self.failed_checks.append(name + detail)
                    print(f"         check failed: {name}{detail}", flush=True)


@dg.logger
def progress_logger(_init_context) -> logging.Logger:
    logger = logging.Logger("ecommerce_pipeline.progress", level=logging.DEBUG)
    if Progress.current is not None:
        logger.addHandler(Progress.current)
    return logger


def progress_job() -> dg.JobDefinition:
    """The medallion job reporting to ``Progress.current``; module-level, so ``dg.reconstructable`` can rebuild it."""
    return medallion_job_def().with_logger_defs({"progress": progress_logger})
