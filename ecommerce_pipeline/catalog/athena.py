"""Running SQL on Athena (through awswrangler) in the configured workgroup and Glue database."""

from __future__ import annotations

import math
from dataclasses import dataclass

import awswrangler as wr
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
        self.session = boto3_session or boto3.Session()

    def run(self, sql: str) -> QueryRun:
        """Submit ``sql`` and wait for it; raises awswrangler's QueryFailed when Athena rejects it."""
        execution = wr.athena.start_query_execution(
            sql,
            database=self.database,
            workgroup=self.workgroup,
            s3_output=self.results_uri,
            boto3_session=self.session,
            athena_query_wait_polling_delay=0.5,
            wait=True,
        )
        return QueryRun(
            query_id=execution["QueryExecutionId"],
            state=execution["Status"]["State"],
            bytes_scanned=int(execution.get("Statistics", {}).get("DataScannedInBytes", 0)),
        )
