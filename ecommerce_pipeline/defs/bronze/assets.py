"""Bronze: one asset per entity, the immutable, validated record of what landed for a business day."""

import hashlib
from datetime import UTC, datetime

import dagster as dg

from ecommerce_pipeline.contract import ENTITIES, Entity
from ecommerce_pipeline.defs.metadata import (
    check_partitions,
    conservation_check_result,
    describe_partitions,
    first_few,
    quarantine_day_figures,
    rule_counts,
    table_metadata,
)
from ecommerce_pipeline.defs.partitions import partition_days
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, OWNERS
from ecommerce_pipeline.defs.resources import LandingResource
from ecommerce_pipeline.ingest import MEMBER_SEPARATOR, file_bytes, parse_landing
from ecommerce_pipeline.quality.conservation import bronze_conservation, combined
from ecommerce_pipeline.storage.io_manager import table_name
from ecommerce_pipeline.storage.lake import Lake, quarantined_file_path
from ecommerce_pipeline.storage.landing import LandingFile, LandingStore, unused_paths, unused_paths_for
from ecommerce_pipeline.transforms.bronze import Validation

UNUSED_FILES_CHECK = "landing_unused_files"


def bronze_key(entity: str) -> dg.AssetKey:
    return dg.AssetKey(["bronze", entity])


def bronze_quarantine_key(entity: str) -> dg.AssetKey:
    return dg.AssetKey(["quarantine", f"bronze_{entity}"])


def _batch_id(fingerprints: list[str]) -> str:
    """Derived from the files themselves, so re-running the same files yields the same batch id."""
    return hashlib.sha256("\n".join(sorted(fingerprints)).encode()).hexdigest()[:16]


def _keeper(context, store: LandingStore, lake: Lake, landed: list[LandingFile]):
    """Keeps an unreadable landing file whole under the lake's quarantine/files/ and says where."""
    by_key = {f.key: f for f in landed}

    def keep(key: str) -> str:
        # An archive member (``export.zip!orders.csv``) is kept as the member's own bytes.
        file = by_key[key.split(MEMBER_SEPARATOR, 1)[0]]
        path = quarantined_file_path(file.entity, file.day, key)
        kept = lake.keep_file(path, file_bytes(key, store.read_bytes(file)))
        context.log.warning(f"{key} could not be read at all; kept whole at {kept}")
        return kept

    return keep


def unused_files_check_result(context, key: dg.AssetKey, unused: dict[str, str]) -> dg.AssetCheckResult:
    """The landing paths that are not read, in the run's log and as a warning check listing them."""
    for path, reason in unused.items():
        context.log.warning(f"landing path not used: {path}: {reason}")
    listing = "\n".join(f"- `{path}`: {reason}" for path, reason in list(unused.items())[:100])
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=UNUSED_FILES_CHECK,
        passed=not unused,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "unused_paths": len(unused),
            "paths": dg.MetadataValue.md(listing or "_none_"),
        },
    )


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
            ),
            dg.AssetCheckSpec(
                UNUSED_FILES_CHECK,
                asset=key,
                blocking=False,
                description=(
                    f"Landing paths under {entity.name}/ (in any case) or under no known entity that the pipeline "
                    "does not read as data: an unknown entity folder, a date folder that is not a calendar day "
                    "written YYYY-MM-DD, a file outside a date folder, an unsupported file type. Warns, never blocks."
                ),
            ),
        ],
        required_resource_keys={"io_manager", "landing"},
        **DAILY_LAKE_STEP,
    )
    def _bronze(context: dg.AssetExecutionContext):
        # Bronze writes each day into the lake the IO manager reads from, as soon as the day is validated.
        landing: LandingResource = context.resources.landing
        store, lake = landing.store(), context.resources.io_manager.lake()
        ingested_at = datetime.now(UTC)
        # Small days are validated together (one statement per header) and every day is written as soon as its
        # rows are validated, so a long single-run backfill holds a bounded number of rows at a time.
        validation = Validation(entity, ingested_at)
        without_files: list[str] = []

        def validated_days():
            for day in partition_days(context):
                landed = store.list_files(entity.name, day)
                if not landed:
                    without_files.append(day.isoformat())
                yield from validation.add_day(
                    day,
                    _batch_id([f.fingerprint for f in landed]),
                    (chunks for file in landed for chunks in parse_landing(file.key, store.source(file))),
                    keep_unreadable=_keeper(context, store, lake, landed),
                )
            yield from validation.finish()

        rows, quarantined, landing_rows, extras, files, outcomes, rules = 0, 0, 0, {}, 0, [], {}
        preview, per_day, per_day_quarantine, per_day_checks = None, {}, {}, {}
        quarantine_preview, bytes_written, quarantine_bytes = None, 0, 0
        for day, result in validated_days():
            bytes_written += lake.write_partition(table_name(key), day, result.valid).bytes
            quarantine_bytes += lake.write_partition(table_name(quarantine_key), day, result.quarantine).bytes
            if result.quarantine.num_rows or quarantine_preview is None:
                quarantine_preview = result.quarantine
            today = {
                "dagster/row_count": result.valid.num_rows,
                "landing_files": result.files,
                "landing_rows": sum(result.landing_rows_by_file.values()),
                "quarantined_rows": result.quarantine.num_rows,
            }
            per_day[day] = today
            per_day_quarantine.update(quarantine_day_figures(result.quarantine, [day]))
            outcomes.append(bronze_conservation(result.landing_rows_by_file, result.valid, result.quarantine))
            per_day_checks[day] = conservation_check_result(key, outcomes[-1])
            for rule, n in rule_counts(result.quarantine).items():
                rules[rule] = rules.get(rule, 0) + n
            preview = result.valid if preview is None or not preview.num_rows else preview
            rows, quarantined = rows + result.valid.num_rows, quarantined + result.quarantine.num_rows
            landing_rows += sum(result.landing_rows_by_file.values())
            extras.update(result.extra_columns)
            files += result.files
        if without_files:
            # One line for the run, not one per day: a year's backfill of a store without click events said it
            # 361 times, each line an event stored in the run's log.
            many = f"{len(without_files)} days: " if len(without_files) > 1 else ""
            context.log.warning(f"no {entity.name} files landed for {many}{first_few(without_files)}")
        if extras:
            context.log.warning(f"{entity.name}: extra columns kept in _extra_columns: {extras}")
        describe_partitions(
            context,
            key,
            per_day,
            table_metadata(
                preview, row_count=rows, landing_files=files, landing_rows=landing_rows, quarantined_rows=quarantined
            )
            | {"extra_columns": dg.MetadataValue.json(extras), "bytes_written": dg.MetadataValue.int(bytes_written)},
        )
        describe_partitions(
            context,
            quarantine_key,
            per_day_quarantine,
            table_metadata(quarantine_preview, row_count=quarantined)
            | {"rules": dg.MetadataValue.json(rules), "bytes_written": dg.MetadataValue.int(quarantine_bytes)},
        )
        check_partitions(context, per_day_checks)
        # One line per table and run, counted by the CloudWatch metric filter "quarantined rows" (infra/modules/monitoring).
        context.log.info(f"bronze/{entity.name} quarantined_rows {quarantined}")
        yield dg.Output(None, output_name="bronze")
        yield dg.Output(None, output_name="quarantine")
        yield conservation_check_result(key, combined(outcomes))
        unused = unused_paths(store.list_keys(partition_days(context)))
        yield unused_files_check_result(context, key, unused_paths_for(entity.name, unused))

    return _bronze


bronze_assets = [build_bronze_asset(e) for e in ENTITIES.values()]
