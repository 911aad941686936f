"""Bronze: one asset per entity, the immutable, validated record of what landed for a business day."""

import hashlib
from datetime import UTC, datetime

import dagster as dg

from ecommerce_pipeline.contract import ENTITIES, Entity
from ecommerce_pipeline.defs.metadata import conservation_check_result, rule_counts, table_metadata
from ecommerce_pipeline.defs.partitions import partition_days
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, OWNERS
from ecommerce_pipeline.defs.resources import LandingResource, QuarantineFilesResource
from ecommerce_pipeline.quality.conservation import bronze_conservation
from ecommerce_pipeline.storage.lake import concat, quarantined_file_path
from ecommerce_pipeline.storage.landing import LandingFile, LandingStore
from ecommerce_pipeline.transforms.bronze import validate_batch
from ecommerce_pipeline.transforms.landing import parse_landing_chunks


def bronze_key(entity: str) -> dg.AssetKey:
    return dg.AssetKey(["bronze", entity])


def bronze_quarantine_key(entity: str) -> dg.AssetKey:
    return dg.AssetKey(["quarantine", f"bronze_{entity}"])


def _batch_id(fingerprints: list[str]) -> str:
    """Derived from the files themselves, so re-running the same files yields the same batch id."""
    return hashlib.sha256("\n".join(sorted(fingerprints)).encode()).hexdigest()[:16]


def _keeper(context, store: LandingStore, quarantine_files: QuarantineFilesResource, landed: list[LandingFile]):
    """Keeps an unreadable landing file whole under the lake's quarantine/files/ and says where."""
    by_key = {f.key: f for f in landed}

    def keep(key: str) -> str:
        file = by_key[key]
        path = quarantined_file_path(file.entity, file.day, key)
        kept = quarantine_files.lake().keep_file(path, store.read_bytes(file))
        context.log.warning(f"{key} could not be read at all; kept whole at {kept}")
        return kept

    return keep


def build_bronze_asset(entity: Entity) -> dg.AssetsDefinition:
    key, quarantine_key = bronze_key(entity.name), bronze_quarantine_key(entity.name)
    required = ", ".join(entity.required)

    @dg.multi_asset(
        name=f"bronze_{entity.name}",
        outs={
            "bronze": dg.AssetOut(
                key=key,
                description=(
                    f"{entity.description} Every row that passed the landing contract (required: {required}), "
                    "typed, with its source file, row number, batch id and ingestion time. Duplicates are kept: "
                    "bronze is the record of what arrived."
                ),
                group_name="bronze",
                kinds={"parquet"},
                owners=OWNERS,
            ),
            "quarantine": dg.AssetOut(
                key=quarantine_key,
                description=f"{entity.name} rows that failed the landing contract, with their raw values, file, row and the rule they broke.",
                group_name="bronze",
                kinds={"parquet"},
                owners=OWNERS,
            ),
        },
        check_specs=[
            dg.AssetCheckSpec(
                "row_conservation",
                asset=key,
                blocking=True,
                description="Every landing row is in bronze or its quarantine exactly once.",
            )
        ],
        **DAILY_LAKE_STEP,
    )
    def _bronze(context: dg.AssetExecutionContext, landing: LandingResource, quarantine_files: QuarantineFilesResource):
        store = landing.store()
        ingested_at = datetime.now(UTC)
        valid, quarantine, landing_rows, extras, files = [], [], {}, {}, 0
        for day in partition_days(context):
            landed = store.list_files(entity.name, day)
            result = validate_batch(
                entity,
                (parse_landing_chunks(file.key, store.source(file)) for file in landed),
                day,
                _batch_id([f.fingerprint for f in landed]),
                ingested_at,
                keep_unreadable=_keeper(context, store, quarantine_files, landed),
            )
            valid.append(result.valid)
            quarantine.append(result.quarantine)
            landing_rows.update(result.landing_rows_by_file)
            extras.update(result.extra_columns)
            files += result.files
            if not landed:
                context.log.warning(f"no {entity.name} files landed for {day}")
        valid_table, quarantine_table = concat(valid), concat(quarantine)
        if extras:
            context.log.warning(f"{entity.name}: extra columns kept in _extra_columns: {extras}")
        rules = rule_counts(quarantine_table)
        # One line per table and run, counted by the CloudWatch metric filter "quarantined rows" (infra/modules/monitoring).
        context.log.info(f"bronze/{entity.name} quarantined_rows {quarantine_table.num_rows}")
        yield dg.Output(
            valid_table,
            output_name="bronze",
            metadata=table_metadata(
                valid_table,
                landing_files=files,
                landing_rows=sum(landing_rows.values()),
                quarantined_rows=quarantine_table.num_rows,
            )
            | {"extra_columns": dg.MetadataValue.json(extras)},
        )
        yield dg.Output(
            quarantine_table,
            output_name="quarantine",
            metadata=table_metadata(quarantine_table) | {"rules": dg.MetadataValue.json(rules)},
        )
        yield conservation_check_result(key, bronze_conservation(landing_rows, valid_table, quarantine_table))

    return _bronze


bronze_assets = [build_bronze_asset(e) for e in ENTITIES.values()]
