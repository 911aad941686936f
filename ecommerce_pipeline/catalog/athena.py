"""Running SQL on Athena (through awswrangler) in the configured workgroup and Glue database."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecommerce_pipeline.storage.aws import session as aws_session
from ecommerce_pipeline.storage.aws import wrangler

if TYPE_CHECKING:
    import boto3

PRICE_PER_TB_USD = 5.0
# Athena bills each query for at least 10 MB, rounded up to the megabyte.
MIN_BILLED_BYTES = 10 * 1024**2


def estimated_cost_usd(bytes_scanned: int) -> float:
    billed = max(MIN_BILLED_BYTES, math.ceil(bytes_scanned / 1024**2) * 1024**2)
    return billed / 1024**4 * PRICE_PER_TB_USD


@dataclass(frozen=True)
class QueryRun:
    query_id: str
    state: str
    bytes_scanned: int
    # Where Athena wrote the result and, for statements that write files (UNLOAD, CTAS, INSERT), the data
    # manifest listing every file written.
    output_location: str | None = None
    manifest_location: str | None = None

    @property
    def estimated_cost_usd(self) -> float:
        return estimated_cost_usd(self.bytes_scanned)


class Athena:
    def __init__(
        self, database: str, workgroup: str, results_uri: str | None = None, boto3_session: boto3.Session | None = None
    ):
        self.database = database
        self.workgroup = workgroup
        self.results_uri = results_uri
        self.session = boto3_session or aws_session()

    def run(self, sql: str) -> QueryRun:
        """Submit ``sql`` and wait for it; raises awswrangler's QueryFailed when Athena rejects it."""
        execution = wrangler().athena.start_query_execution(
            sql,
            database=self.database,
            workgroup=self.workgroup,
            s3_output=self.results_uri,
            boto3_session=self.session,
            athena_query_wait_polling_delay=0.5,
            wait=True,
        )
        statistics = execution.get("Statistics", {})
        return QueryRun(
            query_id=execution["QueryExecutionId"],
            state=execution["Status"]["State"],
            bytes_scanned=int(statistics.get("DataScannedInBytes", 0)),
            output_location=execution.get("ResultConfiguration", {}).get("OutputLocation"),
            manifest_location=statistics.get("DataManifestLocation"),
        )

    def rows(self, run: QueryRun) -> list[dict[str, str | None]]:
        """The result rows of a finished SELECT, as {column: text}; Athena's header row is left out."""
        athena = self.session.client("athena")
        names: list[str] | None = None
        found = []
        for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=run.query_id):
            result = page["ResultSet"]
            if names is None:
                names = [c["Name"] for c in result.get("ResultSetMetadata", {}).get("ColumnInfo", [])]
            for row in result.get("Rows", []):
                values = [cell.get("VarCharValue") for cell in row.get("Data", [])]
                if not found and values == names:
                    continue  # the first row of a SELECT's first page repeats the column names
                found.append(dict(zip(names or [], values)))
        return found

    def query(self, sql: str) -> tuple[QueryRun, list[dict[str, str | None]]]:
        """Run a SELECT and return its rows."""
        run = self.run(sql)
        return run, self.rows(run)
