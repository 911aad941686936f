"""``ecommerce-pipeline``: a thin command line over the same definitions the Dagster UI loads."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in YYYY-MM-DD form") from None


def _ensure_dagster_home() -> Path:
    """DAGSTER_HOME when set; else the project folder (holding dagster.yaml), so runs show in ``dagster dev``;
    else ``./.dagster``.

    A home without a ``dagster.yaml`` gets the project's (``runner/local_instance.py``: Dagster's SQLite layout
    with the project's event log, telemetry off) when it is ``./.dagster`` or holds nothing yet. Under Dagster's
    defaults every event is stored through a new database connection and synced to disk: a 90-day backfill of a
    small store took 232 s instead of 38 s. A home that already holds an instance but no ``dagster.yaml`` keeps
    Dagster's defaults: its owner chose them."""
    own = None
    if "DAGSTER_HOME" not in os.environ:
        cwd = Path.cwd()
        own = None if (cwd / "dagster.yaml").exists() else cwd / ".dagster"
        os.environ["DAGSTER_HOME"] = str(own or cwd)
    home = Path(os.environ["DAGSTER_HOME"]).resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists() and (own is not None or not any(home.iterdir())):
        from ecommerce_pipeline.runner.local_instance import write_local_instance

        write_local_instance(home)  # the repository's instance settings, outside the repository
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def cmd_generate(args: argparse.Namespace) -> int:
    from ecommerce_pipeline.settings import load_settings
    from ecommerce_pipeline.tooling.generator import generate_store

    target = getattr(args, "to", None)
    if target is not None and not target.strip():
        # `--to "$ECOM_LANDING_URI"` with the variable unset: never fall back to the local folder silently.
        print(
            "error: --to is empty (is ECOM_LANDING_URI set? `ecommerce-pipeline local-aws` prints it)", file=sys.stderr
        )
        return 2
    if target and target.startswith("s3://"):
        # Generated into a temporary folder, then uploaded as `upload` would: the same files, the same keys.
        import tempfile

        with tempfile.TemporaryDirectory(prefix="ecommerce-landing-") as folder:
            code = cmd_generate(argparse.Namespace(**{**vars(args), "to": None, "landing": folder}))
            if code:
                return code
            return _upload(Path(folder), target, args.start, args.end)
    landing = Path(target or args.landing or load_settings().landing_dir)
    started = time.perf_counter()
    summary = generate_store(
        landing,
        args.start,
        args.end,
        lines_per_day=args.lines_per_day,
        seed=args.seed,
        defect_rate=args.defect_rate,
        file_format=args.format,
    )
    elapsed = time.perf_counter() - started
    print(f"Generated {summary.days} day(s) into {landing} in {elapsed:.1f}s")
    for entity, rows in summary.rows.items():
        print(f"  {entity:<12} {rows:>12,} rows")
    injected = ", ".join(f"{k}={v:,}" for k, v in summary.defects.items() if v)
    print(f"  defects injected: {injected or 'none'}")
    return 0


def _upload(folder: Path, uri: str, start: date, end: date) -> int:
    from ecommerce_pipeline.ops.upload import upload_landing
    from ecommerce_pipeline.settings import load_settings
    from ecommerce_pipeline.storage.aws import session

    if not uri.startswith("s3://"):
        print(f"error: {uri!r} is not an s3:// address", file=sys.stderr)
        return 2
    aws = session(load_settings().aws_region)
    if aws.region_name is None:
        print("error: no AWS region: set AWS_REGION", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        summary = upload_landing(folder, uri, start, end, aws)
    except Exception as exc:  # the client's own words (NoSuchBucket, AccessDenied, no credentials), not a traceback
        print(f"error: uploading to {uri} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(f"Uploaded {summary.files} file(s), {summary.bytes:,} bytes, from {folder} to {uri} in {elapsed:.1f}s")
    if summary.days_without_files:
        print(f"  no files for: {', '.join(d.isoformat() for d in summary.days_without_files)}")
    return 0 if summary.files else 1


def cmd_upload(args: argparse.Namespace) -> int:
    from ecommerce_pipeline.settings import load_settings

    settings = load_settings()
    uri = args.to or settings.landing_uri
    if not uri:
        print("error: ECOM_LANDING_URI is not set (or give --to s3://bucket/prefix)", file=sys.stderr)
        return 2
    if args.end < args.start:
        print("--end is before --start", file=sys.stderr)
        return 2
    return _upload(Path(args.source or settings.landing_dir), uri, args.start, args.end)


def cmd_local_aws(args: argparse.Namespace) -> int:
    from ecommerce_pipeline.ops import local_aws

    state = Path(local_aws.STATE_DIR)
    if args.stop:
        pid = local_aws.stop(state)
        print(f"# stopped the moto server (pid {pid})" if pid else "# no moto server started from this folder")
        return 0
    if local_aws.stop(state):
        print("# stopped the moto server started before from this folder")
    try:
        process, values = local_aws.start(args.port, state)
    except Exception as exc:
        print(
            f"error: could not start a moto server: {exc} (is moto[server] installed? see the README)", file=sys.stderr
        )
        return 1
    print(f"# a moto server on {values['AWS_ENDPOINT_URL']} (pid {process.pid}, log {state / 'moto.log'}) with the")
    print("# buckets, Glue database and Athena workgroup; stop it with: ecommerce-pipeline local-aws --stop")
    print(local_aws.exports(values))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    home = _ensure_dagster_home()
    import dagster as dg

    from ecommerce_pipeline.runner.progress import Progress, progress_job
    from ecommerce_pipeline.runner.run import medallion_job_def, run_range

    if args.end < args.start:
        print("--end is before --start", file=sys.stderr)
        return 2
    job = medallion_job_def()
    partitions = job.partitions_def
    keys = set(partitions.get_partition_keys())
    for day in (args.start, args.end):
        if day.isoformat() not in keys:
            first = partitions.get_first_partition_key()
            print(f"{day} is not a partition (partitions start at {first}; set ECOM_START_DATE)", file=sys.stderr)
            return 2
    problems = _aws_problems()
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print("(`ecommerce-pipeline local-aws` prints a working set for a local moto server)", file=sys.stderr)
        return 2
    steps = len(job.graph.node_defs)
    handler = Progress.start(steps)
    days = (args.end - args.start).days + 1
    print(f"Materializing {days} day(s) {args.start}..{args.end} ({steps} steps, one run) into the instance at {home}")
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        result = run_range(progress_job, instance, args.start, args.end, {"loggers": {"progress": {}}})
        failures = handler.failures or ([] if result.success else _run_failure(instance, result.run_id))
    elapsed = time.perf_counter() - started
    ok = result.success and not handler.failed_checks
    print(f"Run {result.run_id} {'succeeded' if ok else 'FAILED'} in {elapsed:.1f}s")
    for failure in failures:
        print(f"Root cause: {failure}")
    if handler.failed_checks:
        print(f"Failed checks: {'; '.join(handler.failed_checks)}")
    if handler.warned_checks:
        print(f"Warnings: {'; '.join(handler.warned_checks)}")
    if result.success:
        _print_summary(args.start, args.end)
    _print_unused_landing(args.start, args.end)
    print(f"See the run, assets and checks in the UI:  DAGSTER_HOME={home} dagster dev")
    return 0 if ok else 1


def _aws_problems() -> list[str]:
    """What is missing for ECOM_ENV=aws, said before a run starts rather than as retried step failures."""
    from ecommerce_pipeline.settings import load_settings

    settings = load_settings()
    if settings.env != "aws":
        return []
    problems = [
        f"{name} is not set (the s3:// prefix of the {what})"
        for name, value, what in (
            ("ECOM_LANDING_URI", settings.landing_uri, "landing files"),
            ("ECOM_BRONZE_URI", settings.bronze_uri, "bronze tables"),
            ("ECOM_SILVER_URI", settings.silver_uri, "silver tables"),
            ("ECOM_GOLD_URI", settings.gold_uri, "gold tables"),
        )
        if not value
    ]
    import boto3

    if not (settings.aws_region or boto3.Session().region_name):
        problems.append("no AWS region: set AWS_REGION (Glue and Athena fail with NoRegionError without one)")
    return problems


def _run_failure(instance, run_id: str) -> list[str]:
    """The root cause of a run that failed outside any step (its RUN_FAILURE event's error)."""
    from ecommerce_pipeline.defs.errors import describe_failure

    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is not None and event.event_type_value == "PIPELINE_FAILURE":
            error = getattr(event.event_specific_data, "error", None)
            return [describe_failure(None, error) if error else event.message or "the run failed"]
    return []


def _catalog():
    from ecommerce_pipeline.catalog.duckdb_catalog import DuckDBCatalog
    from ecommerce_pipeline.settings import load_settings
    from ecommerce_pipeline.storage.lake import LocalLake
    from ecommerce_pipeline.storage.tables import local_table_store

    settings = load_settings()
    return DuckDBCatalog(settings.catalog_path, LocalLake(settings.lake_dir), local_table_store(settings.lake_dir))


def _summary_catalog(start: date, end: date):
    """The local catalog; on AWS the range's gold and quarantine partitions read from S3 into DuckDB."""
    from ecommerce_pipeline.settings import load_settings

    if load_settings().env != "aws":
        return _catalog()
    from ecommerce_pipeline.catalog.duckdb_catalog import LakeSnapshot
    from ecommerce_pipeline.defs.catalog.assets import LAKE_TABLES
    from ecommerce_pipeline.defs.resources import AwsCatalogResource, GlueTablesResource
    from ecommerce_pipeline.storage.io_manager import table_name

    tables = [table_name(k) for k in LAKE_TABLES if k.path[0] in ("gold", "quarantine")]
    days = [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1)]
    return LakeSnapshot(AwsCatalogResource().lake(), tables, days, GlueTablesResource().store())


def _print_unused_landing(start: date, end: date) -> None:
    """Every landing path the run did not read as data, and why (also the landing_unused_files checks)."""
    from ecommerce_pipeline.defs.resources import LandingResource, S3LandingResource
    from ecommerce_pipeline.settings import load_settings
    from ecommerce_pipeline.storage.landing import unused_paths

    landing = S3LandingResource() if load_settings().env == "aws" else LandingResource()
    days = [start + timedelta(d) for d in range((end - start).days + 1)]
    unused = unused_paths(landing.store().list_keys(days))
    if unused:
        print(f"\nLanding paths not used ({len(unused)}, also in the landing_unused_files checks):")
        for path, reason in unused.items():
            print(f"  {path}: {reason}")


def _print_summary(start: date, end: date) -> None:
    catalog = _summary_catalog(start, end)
    between = f"business_date BETWEEN DATE '{start}' AND DATE '{end}'"
    print("\nGold tables for the range:")
    # Money is shown per currency: amounts in different currencies are never added together.
    sql = f"""
        SELECT table_name, coalesce(currency, '') AS currency, rows, coalesce(CAST(revenue AS VARCHAR), '') AS revenue
        FROM (
            SELECT 1 AS n, 'daily_sales_summary' AS table_name, currency, count(*) AS rows,
                   sum(total_revenue) AS revenue
            FROM gold.daily_sales_summary WHERE {between} GROUP BY currency
            UNION ALL SELECT 2, 'customer_lifetime_value (lifetime spent)', currency, count(*), sum(total_spent)
            FROM gold.customer_lifetime_value WHERE {between} GROUP BY currency
            UNION ALL SELECT 3, 'product_performance', currency, count(*), sum(revenue)
            FROM gold.product_performance WHERE {between} GROUP BY currency
            UNION ALL SELECT 4, 'conversion_funnel', NULL, count(*), NULL FROM gold.conversion_funnel WHERE {between}
        ) ORDER BY n, currency
    """
    print(_format(catalog.query(sql)))
    quarantine = (
        catalog.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'quarantine' ORDER BY 1")
        .column("table_name")
        .to_pylist()
    )
    if quarantine:
        union = " UNION ALL ".join(
            f"SELECT '{t}' AS quarantine_table, rule, count(*) AS rows FROM quarantine.{t} WHERE {between} GROUP BY rule"
            for t in quarantine
        )
        print("\nQuarantined rows by rule:")
        print(_format(catalog.query(f"SELECT * FROM ({union}) ORDER BY 1, 3 DESC")))


def _format(table, max_rows: int = 50) -> str:
    df = table.to_pandas()
    if df.empty:
        return "(no rows)"
    return df.to_string(index=False, max_rows=max_rows)


def cmd_sql(args: argparse.Namespace) -> int:
    from ecommerce_pipeline.settings import load_settings

    settings = load_settings()
    if settings.env == "aws":
        print(
            f"error: `sql` queries the local DuckDB catalog; with ECOM_ENV=aws query Athena instead "
            f"(database {settings.glue_database}, workgroup {settings.athena_workgroup}, views analytics_*)",
            file=sys.stderr,
        )
        return 2
    catalog = _catalog()
    as_of = {}
    for pin in args.as_of or []:
        table_name, _, snapshot = pin.partition("=")
        as_of[table_name] = int(snapshot)
    try:
        table = catalog.query(args.query, as_of)
    except Exception as exc:  # show the engine's message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(_format(table, args.max_rows))
    print(f"({table.num_rows} row{'s' if table.num_rows != 1 else ''})")
    return 0


def cmd_snapshots(args: argparse.Namespace) -> int:
    from ecommerce_pipeline.settings import load_settings
    from ecommerce_pipeline.storage.tables import local_table_store

    store = local_table_store(load_settings().lake_dir)
    found = store.snapshots(args.table)
    if not found:
        print(f"error: no Iceberg table {args.table} (silver/<name> or gold/<name>) in this lake", file=sys.stderr)
        return 1
    for snapshot in found:
        print(f"{snapshot['snapshot_id']}  {snapshot['committed_at']:%Y-%m-%d %H:%M:%S} UTC")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate a week of demo data (unless it is already there) and materialize it."""
    from ecommerce_pipeline.settings import load_settings

    landing = Path(load_settings().landing_dir)
    if not any((landing / "orders").glob(f"{args.start}*")):
        gen = argparse.Namespace(
            start=args.start,
            end=args.end,
            lines_per_day=args.lines_per_day,
            seed=args.seed,
            defect_rate=0.01,
            format="csv",
            landing=None,
        )
        if cmd_generate(gen):
            return 1
    return cmd_run(args)


def cmd_import_rees46(args: argparse.Namespace) -> int:
    """Convert REES46 click-stream CSVs into landing event files, one folder per day."""
    from ecommerce_pipeline.settings import load_settings
    from ecommerce_pipeline.tooling.rees46 import import_rees46

    landing = Path(args.to or load_settings().landing_dir)
    try:
        written = import_rees46(args.path, landing)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Imported REES46 events from {args.path} into {landing}")
    for day, rows in sorted(written.items()):
        print(f"  events {day} {rows:>12,} rows")
    return 0


def cmd_import_olist(args: argparse.Namespace) -> int:
    """Convert the public Olist CSVs into landing files, one folder per purchase date."""
    from ecommerce_pipeline.settings import load_settings
    from ecommerce_pipeline.tooling.olist import import_olist

    landing = Path(args.to or load_settings().landing_dir)
    try:
        written = import_olist(args.path, landing)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Imported Olist data from {args.path} into {landing}")
    for entity, rows in written.items():
        print(f"  {entity:<12} {rows:>12,} rows")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ecommerce_pipeline.tooling.bench import OLIST_DIR, run_benchmark

    scales = [int(s) for s in args.scales.split(",") if s]
    nightly = [int(d) for d in args.nightly_history.split(",") if d.strip()]
    run_benchmark(
        scales,
        0 if args.no_backfill else args.backfill_days,
        args.backfill_lines,
        Path(args.output),
        nightly,
        args.nightly_lines,
        rounds=args.rounds,
        references=args.references,
        empty_entities=[e for e in args.empty_entity.split(",") if e.strip()],
        empty_lines=args.empty_lines,
        s3_lines=args.s3_lines,
        olist=Path(args.olist_dir or OLIST_DIR) if args.olist_year else None,
        big_day=args.big_day,
    )
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Install Superset if needed, initialise it, import the dashboards, then serve them (``--no-serve``: stop)."""
    import subprocess

    from ecommerce_pipeline.dashboards.runner import ADMIN_USER, DEFAULT_PASSWORD, Superset, connection_for
    from ecommerce_pipeline.settings import load_dashboard_settings, load_settings

    settings, dashboards = load_settings(), load_dashboard_settings()
    connection = connection_for(settings)
    if connection.engine == "duckdb" and not settings.catalog_path.exists():
        print(f"error: no catalog at {settings.catalog_path}: run the pipeline first (ecommerce-pipeline demo)")
        return 2
    venv = Path(args.venv).resolve() if args.venv else dashboards.venv
    superset = Superset(venv, dashboards.home, dashboards.password)
    started = time.perf_counter()
    if not superset.installed():
        if args.no_install:
            print(f"error: Superset is not installed in {superset.venv} (drop --no-install)", file=sys.stderr)
            return 2
        print(f"Installed in {superset.install():.0f}s")
    try:
        superset.initialise()
        superset.import_dashboards(connection)
    except subprocess.CalledProcessError as exc:
        output = f"{exc.stdout or ''}{exc.stderr or ''}"
        print(f"error: {' '.join(map(str, exc.cmd[1:3]))} failed:\n{output[-5000:]}", file=sys.stderr)
        return 1
    where = "Athena" if connection.engine == "athena" else settings.catalog_path
    print(f"Dashboards imported against {where} in {time.perf_counter() - started:.1f}s")
    if args.no_serve:
        return 0
    url = f"http://{args.host}:{args.port}"
    shown = DEFAULT_PASSWORD if dashboards.password == DEFAULT_PASSWORD else "$ECOM_SUPERSET_PASSWORD"
    print(f"Serving Superset on {url}/dashboard/list/  (login: {ADMIN_USER} / {shown})")
    sys.stdout.flush()
    command = superset.serve_command(args.host, args.port)
    os.execve(command[0], command, superset.env())  # noqa: S606 (our own virtualenv's superset)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecommerce-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic landing files for a date range")
    gen.add_argument("--start", type=_date, required=True)
    gen.add_argument("--end", type=_date, required=True)
    gen.add_argument("--lines-per-day", type=int, default=2000, help="order lines per day (events are about 5x)")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument(
        "--defect-rate", type=float, default=0.01, help="share of defective rows injected (0 for clean data)"
    )
    gen.add_argument("--format", choices=["csv", "jsonl", "parquet"], default="csv")
    gen.add_argument("--landing", help="landing folder (default: ECOM_LANDING_DIR or ./data/landing)")
    gen.add_argument(
        "--to", help='where to write instead: a landing folder, or an s3:// landing URI (e.g. "$ECOM_LANDING_URI")'
    )
    gen.set_defaults(func=cmd_generate)

    upload = sub.add_parser("upload", help="upload the landing folder's files for a date range to ECOM_LANDING_URI")
    upload.add_argument("--start", type=_date, required=True)
    upload.add_argument("--end", type=_date, help="last day (default: --start)")
    upload.add_argument("--from", dest="source", help="landing folder (default: ECOM_LANDING_DIR or ./data/landing)")
    upload.add_argument("--to", help="s3:// landing URI (default: ECOM_LANDING_URI)")
    upload.set_defaults(func=cmd_upload)

    local = sub.add_parser(
        "local-aws",
        help="start a moto server on 127.0.0.1 with the buckets, Glue database and workgroup; print the exports",
    )
    local.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    local.add_argument("--stop", action="store_true", help="stop the server started from this folder")
    local.set_defaults(func=cmd_local_aws)

    run = sub.add_parser("run", help="materialize every layer for a day or a range of days through Dagster")
    run.add_argument("--start", type=_date, required=True)
    run.add_argument("--end", type=_date, help="last day (default: --start)")
    run.set_defaults(func=cmd_run)

    sql = sub.add_parser("sql", help="run a SQL query against the local catalog and print the result")
    sql.add_argument("query")
    sql.add_argument("--max-rows", type=int, default=100)
    sql.add_argument(
        "--as-of",
        action="append",
        metavar="TABLE=SNAPSHOT",
        help="time travel: read an Iceberg table (gold/daily_sales_summary) as of a snapshot id (see `snapshots`)",
    )
    sql.set_defaults(func=cmd_sql)
    snapshots = sub.add_parser("snapshots", help="list an Iceberg table's snapshots (for sql --as-of)")
    snapshots.add_argument("table", help="a silver or gold table, e.g. gold/daily_sales_summary")
    snapshots.set_defaults(func=cmd_snapshots)
    olist = sub.add_parser("import-olist", help="convert the public Olist e-commerce CSVs into landing files")
    olist.add_argument("path", help="folder holding Olist's orders.csv, order_items.csv, customers.csv, products.csv")
    olist.add_argument("--to", help="landing folder (default: ECOM_LANDING_DIR or ./data/landing)")
    olist.set_defaults(func=cmd_import_olist)
    rees46 = sub.add_parser("import-rees46", help="convert REES46 click-stream CSVs into landing event files")
    rees46.add_argument("path", help="a REES46 events CSV, or a folder of them")
    rees46.add_argument("--to", help="landing folder (default: ECOM_LANDING_DIR or ./data/landing)")
    rees46.set_defaults(func=cmd_import_rees46)

    demo = sub.add_parser("demo", help="generate a week of demo data and run every layer over it")
    # The week ending yesterday: the UI's Plots view draws an asset's most recent 120 daily partitions.
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    demo.add_argument("--start", type=_date, default=yesterday - timedelta(days=6))
    demo.add_argument("--end", type=_date, default=yesterday)
    demo.add_argument("--lines-per-day", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)

    dash = sub.add_parser(
        "dashboard", help="install Apache Superset if needed, import the dashboards and serve them on 127.0.0.1"
    )
    dash.add_argument("--host", default="127.0.0.1")
    dash.add_argument("--port", type=int, default=8088)
    dash.add_argument("--venv", help="Superset's virtualenv (default: ECOM_SUPERSET_VENV or ./.venv-superset)")
    dash.add_argument("--no-install", action="store_true", help="fail instead of installing Superset")
    dash.add_argument("--no-serve", action="store_true", help="initialise and import, then exit")
    dash.set_defaults(func=cmd_dashboard)

    bench = sub.add_parser("bench", help="measure time, rows/s, peak memory and bytes written at several scales")
    bench.add_argument("--scales", default="10000,100000,1000000", help="order lines per day, comma-separated")
    bench.add_argument("--backfill-days", type=int, default=30)
    bench.add_argument("--backfill-lines", type=int, default=10000)
    bench.add_argument("--no-backfill", action="store_true")
    bench.add_argument(
        "--nightly-history",
        default="2,365",
        help="days of history before the measured nightly run, comma-separated ('' to skip)",
    )
    bench.add_argument("--nightly-lines", type=int, default=10000, help="order lines per day of the nightly runs")
    bench.add_argument(
        "--references",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the plain-DuckDB references (gold only, same work) on each scale's files and print ratios",
    )
    bench.add_argument("--rounds", type=int, default=3, help="interleaved rounds per scale; medians are printed")
    bench.add_argument(
        "--empty-entity",
        default="events",
        help="entities to measure on a day with none of their files, comma-separated ('' to skip)",
    )
    bench.add_argument("--empty-lines", type=int, default=10000, help="order lines of the day before the empty one")
    bench.add_argument(
        "--s3-lines",
        type=int,
        default=2000,
        help="also run a day of this many lines through the AWS path on a metered moto server and print bytes "
        "read from S3 against bytes stored, and GETs per object per step (0: skip)",
    )
    bench.add_argument(
        "--olist-year",
        action="store_true",
        help="also run the Olist sample (--olist-dir) over its whole range as one run (long; target 60 s)",
    )
    bench.add_argument(
        "--olist-dir", help="the Olist CSVs for --olist-year (default: ../shared/datasets/olist_2017_10k)"
    )
    bench.add_argument(
        "--big-day",
        type=int,
        default=0,
        help="also run one day of this many lines alone and print its peak memory (target under 3 GiB; 0: skip)",
    )
    bench.add_argument("--output", default="data/bench/results.json")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "end", "absent") is None:
        args.end = args.start
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
