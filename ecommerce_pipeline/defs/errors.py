"""The root cause of a failed step, in one line: what went wrong and where, not Dagster's wrapper around it.

A step that raises is retried by its ``RetryPolicy``; when the retries run out Dagster reports
``Exceeded max_retries of 3`` (``RetryRequestedFromPolicy``), and a step that fails at once is reported as
``Error occurred while executing op ...`` (``DagsterExecutionStepExecutionError``). The exception that
matters is in the error's ``cause`` chain; :func:`root_cause` digs it out with the last frame of this
package's code it passed through, so the command line and the failure alerts can say
``gold/customer_lifetime_value: NoRegionError: You must specify a region. (catalog/athena.py:52 in run)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster._utils.error import SerializableErrorInfo

# Exceptions that only wrap the real one.
_WRAPPERS = ("dagster.", "dagster._")
_WRAPPER_CLASSES = {"RetryRequestedFromPolicy", "DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}
_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')
_PACKAGE = "/ecommerce_pipeline/"


@dataclass(frozen=True)
class RootCause:
    cls_name: str
    message: str  # the exception's own words, without its module-qualified class prefix
    where: str | None  # "catalog/athena.py:52 in run": the last frame in this package, if any
    chain: tuple[str, ...] = ()  # "Cls: message" of the exceptions that caused this one, outermost first

    def describe(self, step: str | None = None) -> str:
        text = f"{self.cls_name}: {self.message}" if self.message else self.cls_name
        if self.where:
            text += f" (at {self.where})"
        for cause in self.chain:
            text += f"; caused by {cause}"
        return f"{step}: {text}" if step else text


def _is_wrapper(error: SerializableErrorInfo) -> bool:
    return error.cls_name in _WRAPPER_CLASSES or (error.message or "").startswith(_WRAPPERS)


def _message(error: SerializableErrorInfo) -> str:
    """``botocore.exceptions.NoRegionError: You must specify a region.`` -> ``You must specify a region.``"""
    text = (error.message or "").strip()
    head, sep, rest = text.partition(": ")
    if sep and error.cls_name and head.split(".")[-1] == error.cls_name:
        text = rest
    elif text == error.cls_name or text.endswith("." + (error.cls_name or "")):
        text = ""
    return " ".join(text.split())


def _where(errors: list[SerializableErrorInfo]) -> str | None:
    """The last frame in this package's code, looking through the chain from the innermost exception out."""
    for error in reversed(errors):
        for frame in reversed(error.stack or []):
            match = _FRAME.search(frame)
            if match and _PACKAGE in match["path"] and "/ecommerce_pipeline_tests/" not in match["path"]:
                path = match["path"].rsplit(_PACKAGE, 1)[1]
                return f"{path}:{match['line']} in {match['func']}"
    return None


def root_cause(error: SerializableErrorInfo) -> RootCause:
    """The first exception of ``error``'s cause chain that is not one of Dagster's wrappers."""
    chain = []
    current: SerializableErrorInfo | None = error
    while current is not None:
        chain.append(current)
        current = current.cause or current.context
    real = [e for e in chain if not _is_wrapper(e)] or chain[-1:]
    first = real[0]
    return RootCause(
        cls_name=first.cls_name or "Error",
        message=_message(first),
        where=_where(real),
        chain=tuple(f"{e.cls_name}: {_message(e)}" for e in real[1:]),
    )


def describe_failure(step: str | None, error: SerializableErrorInfo | None) -> str:
    if error is None:
        return f"{step}: failed (no error recorded)" if step else "failed (no error recorded)"
    return root_cause(error).describe(step)
