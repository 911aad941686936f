"""quarantine.field_issues: optional values set to null (or changed) in silver, the record they belong to kept.

The table is one more output of the silver step that cleans an entity with such columns (today
customers_clean), so each value is judged once: the step calls ``transforms.field_quality.clean_fields`` on
its bronze rows, hands the cleaned rows to its transform, and yields ``field_issues_output``. Moving it to
another step (or adding an entity) is those three lines and ``field_issues_out()`` in the step's outs.
"""

import dagster as dg
import pyarrow as pa

from ecommerce_pipeline.defs.metadata import quarantine_output
from ecommerce_pipeline.defs.policies import OWNERS
from ecommerce_pipeline.transforms.field_quality import FIELD_ISSUES_SCHEMA

FIELD_ISSUES = dg.AssetKey(["quarantine", "field_issues"])
OUTPUT_NAME = "field_issues"


def field_issues_out() -> dg.AssetOut:
    return dg.AssetOut(
        key=FIELD_ISSUES,
        description=(
            "Optional values that were invalid and set to null in silver (an e-mail that is not an address, a "
            "phone that is not a possible number, a date of birth in the future...), or changed (a phone's "
            "extension removed). One row per value: entity, key, column, the raw value as it arrived, the rule, "
            "and the file and row. The record itself is kept in silver, and so is everything that refers to it."
        ),
        group_name="silver",
        kinds={"parquet"},
        owners=OWNERS,
    )


def field_issues_output(context: dg.AssetExecutionContext, issues: pa.Table) -> dg.Output:
    """The issues found in the partition's bronze rows (the step reads only its own landing days); each
    partition shows its own day's issues by rule."""
    table = pa.concat_tables([FIELD_ISSUES_SCHEMA.empty_table(), issues.cast(FIELD_ISSUES_SCHEMA)])
    return quarantine_output(context, FIELD_ISSUES, OUTPUT_NAME, table)
