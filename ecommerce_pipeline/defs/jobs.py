"""Jobs: every layer of one business day (or a range of days), in dependency order.

Running a job from this process (the command line, the benchmark) is ``ecommerce_pipeline.runner``'s.
"""

import dagster as dg

medallion_job = dg.define_asset_job(
    "medallion_daily",
    selection=dg.AssetSelection.all(),
    description="Landing files to bronze, silver, gold and the catalog for the selected business day(s).",
)
