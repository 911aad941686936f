"""quarantine.field_issues: values set to null (or changed) in silver, with the record they belong to kept.

Its own asset so it can follow the entities it covers: it reads the day's bronze rows of every entity with
columns that lose only the value when invalid (``Entity.nullable_when_invalid``, today customers) and runs
the same pure function silver uses (``transforms.field_quality.clean_fields``).
"""

import dagster as dg
import pyarrow as pa

from ecommerce_pipeline.contract import CUSTOMERS
from ecommerce_pipeline.defs.bronze.assets import bronze_key
from ecommerce_pipeline.defs.metadata import rule_counts, table_metadata
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, OWNERS
from ecommerce_pipeline.defs.resources import PipelineSettings
from ecommerce_pipeline.transforms.field_quality import FIELD_ISSUES_SCHEMA, clean_fields

FIELD_ISSUES = dg.AssetKey(["quarantine", "field_issues"])


@dg.asset(
    key=FIELD_ISSUES,
    ins={"bronze_customers": dg.AssetIn(bronze_key("customers"))},
    group_name="silver",
    kinds={"parquet"},
    owners=OWNERS,
    **DAILY_LAKE_STEP,
)
def field_issues(bronze_customers: pa.Table, pipeline_settings: PipelineSettings) -> dg.Output[pa.Table]:
    """Optional values that were invalid and set to null in silver (an e-mail that is not an address, a phone
    that is not a possible number, a date of birth in the future...), or changed (a phone's extension removed).
    One row per value: entity, key, column, the raw value as it arrived, the rule, and the file and row. The
    record itself is kept in silver, and so is everything that refers to it."""
    found = clean_fields(CUSTOMERS, bronze_customers, pipeline_settings.phone_country()).issues
    table = pa.concat_tables([FIELD_ISSUES_SCHEMA.empty_table(), found])
    return dg.Output(table, metadata=table_metadata(table) | {"rules": dg.MetadataValue.json(rule_counts(table))})
