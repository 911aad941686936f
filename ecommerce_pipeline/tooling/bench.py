"""Benchmark: how the pipeline scales with order lines per day, and what backfills cost.

Each measurement generates a store into a temp folder, then materializes it through Dagster with
the real local IO managers and every check on, in a fresh child process so that its peak resident
memory is its own. Each scale also runs the plain-DuckDB references (``tooling/reference``) on the same
landing files, interleaved with the pipeline round by round, and prints median ratios. Figures are
printed as a table and written to a JSON file.

    ecommerce-pipeline bench                          # the full sweep (10k, 100k, 1M lines a day + backfills)
    ecommerce-pipeline bench --scales 10000 --no-backfill
    ecommerce-pipeline bench --scales "" --no-backfill --nightly-history "" --empty-entity "" --s3-lines 2000
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

BENCH_DAY = date(2025, 1, 8)  # a Wednesday: a day of average volume
BACKFILL_START = date(2025, 2, 3)
EVENTS_PER_LINE = 5
REFERENCES = ("gold_only", "same_work")
# The targets: the pipeline's time over each reference's (wall and CPU), by lines a day.
RATIO_TARGETS = {"gold_only": {1_000_000: 2.0}, "same_work": {20_000: 2.0, 1_000_000: 1.0}}
PEAK_TARGET_MIB = {1_000_000: 2048}
EMPTY_STEP_TARGET_SECONDS = 0.05  # a day with no files for an entity, per table of that entity
OLIST_YEAR_TARGET_SECONDS = 60.0  # the Olist 2017 sample as one run
OLIST_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "olist_2017_10k"
BIG_DAY_PEAK_TARGET_MIB = 3072  # 3,000,000 order lines in one day
MEMORY_BUDGET_MIB = 8192  # the machine whose largest day the sweep's fit estimates
BETWEEN_STEPS = "(between steps)"  # S3 reads of a run outside any step's start and end


def _child_env(
    root: Path, landing: Path | None = None, start_date: str = "2025-01-01", aws: dict[str, str] | None = None
) -> dict[str, str]:
    """A child's settings: a local lake under ``root``, or with ``aws`` (``local_aws.variables``) the S3 lake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOM_", "AWS_"))}
    env.update(
        ECOM_LANDING_DIR=str(landing or root / "landing"),
        ECOM_LAKE_DIR=str(root / "lake"),
        ECOM_START_DATE=start_date,
        DAGSTER_HOME=str(root / "dagster_home"),
        **(aws or {}),
    )
    from ecommerce_pipeline.runner.local_instance import write_local_instance

    (root / "dagster_home").mkdir(parents=True, exist_ok=True)
    write_local_instance(root / "dagster_home")  # the instance the project ships, so its cost is measured
    return env


def _own_peak_kib(pid: int) -> int | None:
    """The process's own high-water mark of resident memory (``VmHWM``), in KiB; None where /proc has none."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), None)
    except OSError:
        return None


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a child process; its wall seconds and CPU seconds (user + system), from ``wait4``, and its peak RSS.

    The peak is the child's own ``VmHWM``, read every 20 ms until it exits (a high-water mark only grows, so
    the last reading is the peak but for its last 20 ms). ``wait4``'s ``ru_maxrss`` is not used: Linux counts in
    it the memory of the parent at the time the child was started (a 200 MiB child of a 1.5 GiB parent reports
    1.5 GiB), and the bench's parent holds the generated store."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)  # noqa: S603 - our own interpreter and modules, no user input
    peak_kib = 0  # stays 0 where /proc has no VmHWM
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak_kib = max(peak_kib, _own_peak_kib(proc.pid) or 0)
        time.sleep(0.02)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd[2:4])} failed (exit {os.waitstatus_to_exitcode(status)})")
    return {
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round((peak_kib or usage.ru_maxrss) / 1024, 1),  # both in KiB on Linux
    }


def _run_child(
    root: Path,
    start: date,
    end: date,
    per_day: bool,
    landing: Path | None = None,
    empty_days_expected: bool = False,
    **env,
) -> dict:
    """Materialize in a child process; return its figures plus its own wall and CPU time and peak RSS.
    ``empty_days_expected``: days without any landing file are the data's own (a real store's year), so their
    failed ``landing_received`` checks are counted, not a failed measurement.
    ``env``: ``_child_env``'s ``start_date`` and ``aws``."""
    cmd = [sys.executable, "-m", "ecommerce_pipeline.tooling.bench", "_materialize", start.isoformat(), end.isoformat()]
    if per_day:
        cmd.append("--per-day")
    if empty_days_expected:
        cmd.append("--empty-days-expected")
    out_file = root / f"child-{time.time_ns()}.json"
    cmd.append(str(out_file))
    usage = _timed(cmd, _child_env(root, landing, **env))
    return {**json.loads(out_file.read_text()), **usage}


def _run_reference(kind: str, landing: Path, day: date, out: Path) -> dict:
    cmd = [sys.executable, "-m", "ecommerce_pipeline.tooling.reference", kind, str(landing), day.isoformat(), str(out)]
    return _timed(cmd, _child_env(out, landing))


def _materialize(start: date, end: date, per_day: bool, out_file: Path, empty_days_expected: bool = False) -> None:
    """Child: run the job over [start, end] (one run, or one run per day) and write its figures."""
    import dagster as dg

    from ecommerce_pipeline.runner.run import medallion_job_def, run_range

    ranges = (
        [(start + timedelta(d), start + timedelta(d)) for d in range((end - start).days + 1)]
        if per_day
        else [(start, end)]
    )
    steps: dict[str, float] = {}
    steps_by_run: list[dict[str, float]] = []
    windows: list[tuple[str, float, float]] = []  # (step, start, end) as time.time(): to set S3 reads against
    bytes_written, days_without_files = 0, 0
    # Loading the code (Dagster, the definitions) is timed apart from the runs, as a deployment loads it once.
    loading = time.perf_counter()
    medallion_job_def()
    load_seconds = time.perf_counter() - loading
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        for first, last in ranges:
            quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
            result = run_range(medallion_job_def, instance, first, last, quiet)
            if not result.success:
                raise RuntimeError(f"run {result.run_id} failed")
            step_started: dict[str, float] = {}
            run_steps: dict[str, float] = {}
            run_bytes: dict = {}
            for record in instance.all_logs(result.run_id):
                event = record.dagster_event
                if event is None:
                    continue
                if event.event_type_value == "STEP_START":
                    step_started[event.step_key] = record.timestamp
                elif event.event_type_value == "STEP_SUCCESS":
                    run_steps[event.step_key] = record.timestamp - step_started[event.step_key]
                    windows.append((event.step_key, step_started[event.step_key], record.timestamp))
                elif event.event_type_value == "ASSET_MATERIALIZATION":
                    # Every partition's materialization repeats its output's total: count each asset once.
                    materialization = event.event_specific_data.materialization
                    written = materialization.metadata.get("bytes_written")
                    if written is not None:
                        run_bytes[materialization.asset_key] = int(written.value)
            bytes_written += sum(run_bytes.values())
            steps_by_run.append(run_steps)
            for step, seconds in run_steps.items():
                steps[step] = steps.get(step, 0.0) + seconds
            # A warning is not a failure (on moto, Athena's counts are "not verified": it runs no SQL).
            failed = [
                e.check_name
                for e in result.get_asset_check_evaluations()
                if not e.passed and e.severity != dg.AssetCheckSeverity.WARN
            ]
            if empty_days_expected:
                # The run's own evaluation plus one per empty day: the days are counted once.
                days_without_files += sum(
                    1
                    for e in result.get_asset_check_evaluations()
                    if e.check_name == "landing_received" and not e.passed and e.partition
                )
                failed = [name for name in failed if name != "landing_received"]
            if failed:
                raise RuntimeError(f"checks failed: {failed}")
    total = time.perf_counter() - started
    out_file.write_text(
        json.dumps(
            {
                "seconds": round(total, 2),
                "load_seconds": round(load_seconds, 2),
                "runs": len(ranges),
                "days_without_files": days_without_files,
                "bytes_written": bytes_written,
                "steps": steps,
                "steps_by_run": steps_by_run,
                "step_windows": windows,
            }
        )
    )


def _median(rounds: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in rounds), 2)


def pipeline_gold_figures(lake: Path) -> dict:
    """The reference figures (``reference.FIGURES_SQL``) of the pipeline's gold, read through its DuckDB catalog."""
    import duckdb

    from ecommerce_pipeline.tooling.reference import gold_figures

    con = duckdb.connect(str(lake / "catalog.duckdb"), read_only=True)
    try:
        return gold_figures(con, lambda name: f"gold.{name}")
    finally:
        con.close()


def measure_scale(lines_per_day: int, seed: int = 1, rounds: int = 1, references: bool = True) -> dict:
    """The pipeline on one generated day, and each reference on the same files, interleaved for ``rounds``."""
    from ecommerce_pipeline.tooling.generator import generate_store
    from ecommerce_pipeline.tooling.reference import reference_gold_figures

    kinds = REFERENCES if references else ()
    with tempfile.TemporaryDirectory(prefix=f"bench-{lines_per_day}-") as tmp:
        root = Path(tmp)
        landing = root / "landing"
        gen_started = time.perf_counter()
        summary = generate_store(landing, BENCH_DAY, BENCH_DAY, lines_per_day=lines_per_day, seed=seed)
        generate_seconds = time.perf_counter() - gen_started
        landing_bytes = sum(f.stat().st_size for f in summary.files)
        runs: dict[str, list[dict]] = {"pipeline": [], **{kind: [] for kind in kinds}}
        gold: dict[str, dict] = {}
        for r in range(rounds):
            # Each run writes into a fresh folder; the first round's gold is kept to compare, then all is dropped.
            folder = root / f"pipeline-{r}"
            folder.mkdir()
            runs["pipeline"].append(_run_child(folder, BENCH_DAY, BENCH_DAY, per_day=False, landing=landing))
            if r == 0:
                gold["pipeline"] = pipeline_gold_figures(folder / "lake")
            shutil.rmtree(folder)
            for kind in kinds:
                out = root / f"{kind}-{r}"
                runs[kind].append(_run_reference(kind, landing, BENCH_DAY, out))
                if r == 0:
                    gold[kind] = reference_gold_figures(out)
                shutil.rmtree(out)
    pipeline = runs["pipeline"]
    steps = {
        step: round(statistics.median(run["steps"].get(step, 0.0) for run in pipeline), 3)
        for step in pipeline[0]["steps"]
    }
    landing_rows = sum(summary.rows.values())
    seconds = _median(pipeline, "seconds")
    result = {
        "lines_per_day": lines_per_day,
        "landing_rows": landing_rows,
        "order_lines": summary.rows["order_items"],
        "events": summary.rows["events"],
        "landing_mib": round(landing_bytes / 2**20, 1),
        "generate_seconds": round(generate_seconds, 2),
        "rounds": rounds,
        "seconds": seconds,
        "load_seconds": _median(pipeline, "load_seconds"),
        "runs": pipeline[0]["runs"],
        "bytes_written": pipeline[0]["bytes_written"],
        "steps": steps,
        "peak_rss_mib": max(run["peak_rss_mib"] for run in pipeline),
        "rows_per_second": round(landing_rows / seconds),
        "processes": {
            name: {
                "wall_seconds": _median(measured, "wall_seconds"),
                "cpu_seconds": _median(measured, "cpu_seconds"),
                "peak_rss_mib": max(m["peak_rss_mib"] for m in measured),
                "gold": gold[name],
            }
            for name, measured in runs.items()
        },
    }
    result["ratios"] = {
        kind: {
            "wall": round(
                result["processes"]["pipeline"]["wall_seconds"] / result["processes"][kind]["wall_seconds"], 2
            ),
            "cpu": round(result["processes"]["pipeline"]["cpu_seconds"] / result["processes"][kind]["cpu_seconds"], 2),
            "target": RATIO_TARGETS[kind].get(lines_per_day),
            "gold_agrees": gold[kind] == gold["pipeline"],
        }
        for kind in kinds
    }
    return result


def measure_empty_entity(entity: str, lines_per_day: int, seed: int = 1) -> dict:
    """The steps of ``entity`` on a day without any of its files, against the day before with them: two
    days generated, the second day's files of the entity removed, run as one run per day (a nightly run)."""
    from ecommerce_pipeline.tooling.generator import generate_store

    empty_day = BENCH_DAY + timedelta(1)
    with tempfile.TemporaryDirectory(prefix=f"bench-empty-{entity}-") as tmp:
        root = Path(tmp)
        generate_store(root / "landing", BENCH_DAY, empty_day, lines_per_day=lines_per_day, seed=seed)
        shutil.rmtree(root / "landing" / entity / empty_day.isoformat())
        figures = _run_child(root, BENCH_DAY, empty_day, per_day=True)
    normal, empty = figures["steps_by_run"]
    steps = sorted(step for step in normal if entity in step.split("__")[-1])
    return {
        "entity": entity,
        "lines_per_day": lines_per_day,
        "steps": {
            step: {"normal_day": round(normal[step], 3), "empty_day": round(empty.get(step, 0.0), 3)} for step in steps
        },
        "empty_day_seconds_per_table": round(sum(empty.get(step, 0.0) for step in steps) / len(steps), 3),
        "target_seconds_per_table": EMPTY_STEP_TARGET_SECONDS,
    }


def measure_backfill(days: int, lines_per_day: int, per_day: bool, seed: int = 1) -> dict:
    from ecommerce_pipeline.tooling.generator import generate_store

    end = BACKFILL_START + timedelta(days - 1)
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        root = Path(tmp)
        summary = generate_store(root / "landing", BACKFILL_START, end, lines_per_day=lines_per_day, seed=seed)
        figures = _run_child(root, BACKFILL_START, end, per_day=per_day)
    landing_rows = sum(summary.rows.values())
    return {
        "days": days,
        "lines_per_day": lines_per_day,
        "mode": "one run per day" if per_day else "single run",
        "landing_rows": landing_rows,
        **figures,
        "rows_per_second": round(landing_rows / figures["seconds"]),
    }


def measure_nightly(history_days: int, lines_per_day: int, seed: int = 1) -> dict:
    """The nightly run of one day after ``history_days`` days of history (built by one single-run backfill):
    what a store pays each night after days, or after years, of data at the same volume."""
    from ecommerce_pipeline.tooling.generator import generate_store

    night = BACKFILL_START + timedelta(history_days)
    with tempfile.TemporaryDirectory(prefix=f"bench-nightly-{history_days}-") as tmp:
        root = Path(tmp)
        generate_store(root / "landing", BACKFILL_START, night, lines_per_day=lines_per_day, seed=seed)
        backfill = _run_child(root, BACKFILL_START, night - timedelta(1), per_day=False)
        nightly = _run_child(root, night, night, per_day=False)
        stored = sum(
            f.stat().st_size for layer in ("silver", "gold") for f in (root / "lake" / layer).rglob("*") if f.is_file()
        )
    return {
        "history_days": history_days,
        "lines_per_day": lines_per_day,
        "backfill_seconds": backfill["seconds"],
        "backfill_peak_rss_mib": backfill["peak_rss_mib"],
        "nightly_seconds": nightly["seconds"],
        # The child's CPU time (code loading included) moves less than wall time when the machine is shared.
        "nightly_cpu_seconds": nightly["cpu_seconds"],
        "nightly_peak_rss_mib": nightly["peak_rss_mib"],
        "nightly_steps": nightly["steps"],
        "silver_gold_mib": round(stored / 2**20, 1),
    }


def measure_big_day(lines_per_day: int, seed: int = 1) -> dict:
    """One generated day of ``lines_per_day`` through the pipeline alone (no references): its peak memory."""
    return {
        **measure_scale(lines_per_day, seed=seed, rounds=1, references=False),
        "target_peak_mib": BIG_DAY_PEAK_TARGET_MIB,
    }


def largest_day(points: list[tuple[int, float]], budget_mib: float = MEMORY_BUDGET_MIB) -> dict | None:
    """A least-squares line through ``points`` (lines a day, peak RSS MiB) and the lines a day at which it
    reaches ``budget_mib``: an estimate, extrapolated. None without two distinct scales or a rising line."""
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    if slope <= 0:
        return None
    intercept = mean_y - slope * mean_x
    return {
        "points": [list(p) for p in points],
        "mib_per_million_lines": round(slope * 1e6, 1),
        "intercept_mib": round(intercept, 1),
        "budget_mib": budget_mib,
        "largest_day_lines": round((budget_mib - intercept) / slope),
    }


def measure_olist(source: Path = OLIST_DIR, start: date | None = None, end: date | None = None) -> dict:
    """The Olist sample imported into a temp landing and run over its days (``start``..``end``, by default its
    first to its last purchase date) as one run, in the child process the other measurements use."""
    from ecommerce_pipeline.tooling.olist import import_olist

    with tempfile.TemporaryDirectory(prefix="bench-olist-") as tmp:
        root = Path(tmp)
        written = import_olist(source, root / "landing")
        days = sorted(date.fromisoformat(p.name) for p in (root / "landing" / "orders").iterdir())
        first, last = start or days[0], end or days[-1]
        figures = _run_child(
            root,
            first,
            last,
            per_day=False,
            empty_days_expected=True,  # the sample has days without an order
            start_date=first.replace(month=1, day=1).isoformat(),
        )
    return {
        "source": str(source),
        "start": first.isoformat(),
        "end": last.isoformat(),
        "days": (last - first).days + 1,
        "landing_rows": sum(written.values()),
        "days_without_files": figures["days_without_files"],
        "seconds": figures["seconds"],
        "load_seconds": figures["load_seconds"],
        "wall_seconds": figures["wall_seconds"],
        "peak_rss_mib": figures["peak_rss_mib"],
        "steps": {step: round(seconds, 3) for step, seconds in figures["steps"].items()},
        "target_seconds": OLIST_YEAR_TARGET_SECONDS,
    }


def reads_by_step(reads: list, windows: list, sizes: dict[str, int]) -> dict[str, dict]:
    """The object GETs of a run (``local_aws.ObjectRead``), each set against the step running when the server
    answered it (``windows``: (step, start, end)); per step: GETs, bytes, objects, the most GETs of one
    object, GETs of a byte range, and the objects whose bytes that step read more than once over (more bytes
    than the object now holds)."""
    by_step: dict[str, dict[str, list]] = {}
    for read in reads:
        step = next((s for s, first, last in windows if first <= read.at <= last), BETWEEN_STEPS)
        by_step.setdefault(step, {}).setdefault(read.key, []).append(read)
    steps = {}
    for step, objects in by_step.items():
        most = max(objects, key=lambda key: len(objects[key]))
        steps[step] = {
            "gets": sum(len(r) for r in objects.values()),
            "ranged_gets": sum(r.range is not None for rs in objects.values() for r in rs),
            "bytes_read": sum(r.bytes for rs in objects.values() for r in rs),
            "objects_read": len(objects),
            "max_gets_of_an_object": len(objects[most]),
            "object_with_most_gets": most,
            "objects_read_over_once": sorted(
                k for k, rs in objects.items() if k in sizes and sum(r.bytes for r in rs) > sizes[k]
            ),
        }
    return steps


@contextmanager
def _environ(values: dict[str, str]):
    """``values`` in this process's environment for the block, as they were after it."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure_s3(lines_per_day: int, seed: int = 1) -> dict:
    """One generated day through the AWS path against a metered moto server (``ops/local_aws``, started in its
    own process for this measurement and stopped after it): bytes read from the lake's buckets against bytes
    stored, and GETs per object per step."""
    from ecommerce_pipeline.ops import local_aws
    from ecommerce_pipeline.ops.upload import upload_landing
    from ecommerce_pipeline.storage.aws import session
    from ecommerce_pipeline.tooling.generator import generate_store

    with tempfile.TemporaryDirectory(prefix=f"bench-s3-{lines_per_day}-") as tmp:
        root = Path(tmp)
        summary = generate_store(root / "landing", BENCH_DAY, BENCH_DAY, lines_per_day=lines_per_day, seed=seed)
        server, aws = local_aws.start(0, root / "local-aws")
        try:
            endpoint = aws["AWS_ENDPOINT_URL"]
            lake = [aws[k] for k in ("ECOM_BRONZE_URI", "ECOM_SILVER_URI", "ECOM_GOLD_URI")]
            with _environ(aws):  # boto3 finds the server through AWS_ENDPOINT_URL, as the child does
                upload_landing(root / "landing", aws["ECOM_LANDING_URI"], BENCH_DAY, BENCH_DAY, session())
                local_aws.s3_reads(endpoint, reset=True)
                figures = _run_child(root, BENCH_DAY, BENCH_DAY, per_day=False, aws=aws)
                reads = local_aws.s3_reads(endpoint)
                s3 = session().client("s3")
                traffic = local_aws.lake_traffic(reads, lake, s3)
                landing = local_aws.lake_traffic(reads, [aws["ECOM_LANDING_URI"]], s3)
                sizes = local_aws.stored_objects(lake, s3)
        finally:
            local_aws.stop(root / "local-aws")
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a swamped machine: the figures are taken, end it for sure
                server.kill()
                server.wait()
    prefixes = local_aws.key_prefixes(lake)
    steps = reads_by_step([r for r in reads if r.key.startswith(tuple(prefixes))], figures["step_windows"], sizes)
    in_steps = [s for step, s in steps.items() if step != BETWEEN_STEPS]
    return {
        "lines_per_day": lines_per_day,
        "order_lines": summary.rows["order_items"],
        "seconds": figures["seconds"],
        "peak_rss_mib": figures["peak_rss_mib"],
        "lake": {**asdict(traffic), "summary": traffic.summary()},
        "landing": {**asdict(landing), "summary": landing.summary()},
        "read_over_stored": round(traffic.bytes_read / traffic.bytes_stored, 3) if traffic.bytes_stored else None,
        "max_gets_of_an_object_in_a_step": max((s["max_gets_of_an_object"] for s in in_steps), default=0),
        "objects_read_over_once_in_a_step": sum(len(s["objects_read_over_once"]) for s in in_steps),
        "data_files_read_over_once_in_a_step": sum(
            k.endswith(".parquet") for s in in_steps for k in s["objects_read_over_once"]
        ),
        "ranged_gets": sum(s["ranged_gets"] for s in steps.values()),
        "steps": steps,
    }


def _print_s3(s3: dict) -> None:
    print(
        f"\nOn S3 (a metered moto server), one day of {s3['order_lines']:,} order lines through the AWS path "
        f"({s3['seconds']} s, peak {s3['peak_rss_mib']} MiB):"
    )
    print(f"  lake (bronze, silver, gold buckets): {s3['lake']['summary']}")
    print(f"  landing: {s3['landing']['summary']}")
    print(f"  bytes read / bytes stored in the lake: {s3['read_over_stored']}")
    print(
        "  target: each object read once per step, by byte ranges; measured: at most "
        f"{s3['max_gets_of_an_object_in_a_step']} GETs of one object in one step, "
        f"{s3['objects_read_over_once_in_a_step']} (step, object) pair(s) whose bytes the step read more than "
        f"once over ({s3['data_files_read_over_once_in_a_step']} of them Parquet data files, the rest table metadata); "
        f"{s3['ranged_gets']} of {s3['lake']['gets']} GETs asked for a byte range"
    )
    print(
        f"  {'step':<48} {'GETs':>5} {'ranged':>6} {'objects':>7} {'KiB read':>9} {'max GETs/object':>15} "
        f"{'read over once':>14}"
    )
    for step, f in sorted(s3["steps"].items(), key=lambda kv: -kv[1]["bytes_read"]):
        print(
            f"  {step:<48} {f['gets']:>5} {f['ranged_gets']:>6} {f['objects_read']:>7} {f['bytes_read'] / 1024:>9.1f} "
            f"{f['max_gets_of_an_object']:>15} {len(f['objects_read_over_once']):>14}"
        )


def _print_olist(olist: dict) -> None:
    verdict = "met" if olist["seconds"] <= olist["target_seconds"] else "NOT met"
    print(
        f"\nOlist sample {olist['start']}..{olist['end']} ({olist['days']} days of a sample of {olist['landing_rows']:,} landing rows) "
        f"as one run: {olist['seconds']} s (target <= {olist['target_seconds']:g} s: {verdict}; whole process "
        f"{olist['wall_seconds']} s with {olist['load_seconds']} s of code loading), peak {olist['peak_rss_mib']} MiB; "
        f"{olist.get('days_without_files', 0)} days without any file (their landing_received checks fail, as they should)"
    )
    for step, seconds in sorted(olist["steps"].items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {step:<40} {seconds:7.2f}")


def _print_memory(report: dict) -> None:
    big = report.get("big_day")
    if big:
        verdict = "met" if big["peak_rss_mib"] < big["target_peak_mib"] else "NOT met"
        print(
            f"\nBig day: {big['order_lines']:,} order lines in one day, {big['seconds']} s, peak "
            f"{big['peak_rss_mib']} MiB (target < {big['target_peak_mib']} MiB: {verdict})"
        )
    fit = report.get("memory_fit")
    if fit:
        print(
            f"\nLargest day in {fit['budget_mib'] / 1024:g} GiB: about {fit['largest_day_lines']:,} lines a day "
            f"(an estimate: a linear fit of peak RSS on lines a day from {len(fit['points'])} measured points, "
            f"{fit['intercept_mib']} MiB + {fit['mib_per_million_lines']} MiB per million lines)"
        )


def _print_nightly(nightly: list[dict]) -> None:
    print("\nNightly run after days of history (same lines per day; history built by one single-run backfill):")
    print(
        f"{'history days':>13} {'lines/day':>10} {'night s':>8} {'night CPU s':>12} {'night peak MiB':>15} {'backfill s':>11} {'backfill peak MiB':>18} {'silver+gold MiB':>16}"
    )
    for n in nightly:
        print(
            f"{n['history_days']:>13} {n['lines_per_day']:>10,} {n['nightly_seconds']:>8} {n['nightly_cpu_seconds']:>12} {n['nightly_peak_rss_mib']:>15} "
            f"{n['backfill_seconds']:>11} {n['backfill_peak_rss_mib']:>18} {n['silver_gold_mib']:>16}"
        )
    if len(nightly) >= 2:
        first, last = nightly[0], nightly[-1]
        print(
            f"  nightly at {last['history_days']} vs {first['history_days']} days of history: "
            f"x{last['nightly_seconds'] / first['nightly_seconds']:.2f} time (target <= 1.3), "
            f"x{last['nightly_cpu_seconds'] / first['nightly_cpu_seconds']:.2f} CPU time, "
            f"x{last['nightly_peak_rss_mib'] / first['nightly_peak_rss_mib']:.2f} peak memory (target <= 1.3)"
        )
        print(
            f"  {last['history_days']}-day single-run backfill: {last['backfill_seconds']} s, peak "
            f"{last['backfill_peak_rss_mib']} MiB (target < 3072 MiB)"
        )


def _print_references(scale: dict) -> None:
    lines = scale["lines_per_day"]
    print(
        f"\nSide by side with the plain-DuckDB references at {lines:,} lines/day "
        f"(whole child processes, median of {scale['rounds']} interleaved round(s)):"
    )
    print(
        f"  {'':<10} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}   {'pipeline/ref wall':>17} {'CPU':>6} {'target':>7}  gold"
    )
    for name, figures in scale["processes"].items():
        ratio = scale["ratios"].get(name)
        tail = ""
        if ratio:
            target = f"<= {ratio['target']:g}" if ratio["target"] else "-"
            agrees = "same figures" if ratio["gold_agrees"] else "DIFFERS from the pipeline's"
            tail = f"   {ratio['wall']:>17.2f} {ratio['cpu']:>6.2f} {target:>7}  {agrees}"
        print(
            f"  {name:<10} {figures['wall_seconds']:>8} {figures['cpu_seconds']:>8} {figures['peak_rss_mib']:>9}{tail}"
        )
    if lines in PEAK_TARGET_MIB:
        print(
            f"  pipeline peak {scale['processes']['pipeline']['peak_rss_mib']} MiB (target <= {PEAK_TARGET_MIB[lines]} MiB)"
        )
    differing = {
        name: {
            k: (v, scale["processes"]["pipeline"]["gold"][k])
            for k, v in f["gold"].items()
            if v != scale["processes"]["pipeline"]["gold"][k]
        }
        for name, f in scale["processes"].items()
    }
    for name, diff in differing.items():
        if diff:
            print(f"  {name} gold (reference, pipeline): {diff}")


def _print_empty_entity(empty: dict) -> None:
    print(
        f"\nA day with no {empty['entity']} files (the day before had {empty['lines_per_day']:,} lines), "
        "seconds per step of the entity:"
    )
    for step, seconds in empty["steps"].items():
        print(f"  {step:<40} {seconds['empty_day']:6.3f}  (day with files: {seconds['normal_day']:.3f})")
    print(
        f"  per table: {empty['empty_day_seconds_per_table']:.3f} s "
        f"(target <= {empty['target_seconds_per_table']:.3f} s)"
    )


def _print_report(report: dict) -> None:
    if report["scales"]:
        print("\nScale sweep (one day, CSV landing, every check on):")
        print(
            f"{'lines/day':>10} {'events':>10} {'landing MiB':>12} {'run s':>8} {'rows/s':>10} {'peak RSS MiB':>13} "
            f"{'written MiB':>12} {'code load s':>12}"
        )
    for s in report["scales"]:
        print(
            f"{s['order_lines']:>10,} {s['events']:>10,} {s['landing_mib']:>12} {s['seconds']:>8} "
            f"{s['rows_per_second']:>10,} {s['peak_rss_mib']:>13} {s['bytes_written'] / 2**20:>12.1f} "
            f"{s['load_seconds']:>12}"
        )
    scales = report["scales"]
    for small, large in zip(scales, scales[1:]):
        ratio = large["seconds"] / small["seconds"]
        print(f"  {small['lines_per_day']:,} -> {large['lines_per_day']:,} lines/day: x{ratio:.1f} time")
    if scales:
        largest = scales[-1]
        print(f"\nSeconds per step at {largest['lines_per_day']:,} lines/day:")
        for step, seconds in sorted(largest["steps"].items(), key=lambda kv: -kv[1]):
            print(f"  {step:<40} {seconds:6.2f}")
    for scale in scales:
        if scale.get("ratios"):
            _print_references(scale)
    for empty in report.get("empty_entity", []):
        _print_empty_entity(empty)
    if report.get("nightly"):
        _print_nightly(report["nightly"])
    if report.get("s3"):
        _print_s3(report["s3"])
    if report.get("olist"):
        _print_olist(report["olist"])
    _print_memory(report)
    if report["backfills"]:
        print("\nBackfills:")
        for b in report["backfills"]:
            print(
                f"  {b['days']} days x {b['lines_per_day']:,} lines/day, {b['mode']:<16} {b['seconds']:>7} s  peak {b['peak_rss_mib']} MiB"
            )


def run_benchmark(
    scales: list[int],
    backfill_days: int,
    backfill_lines: int,
    output: Path,
    nightly_history: list[int] = (),
    nightly_lines: int = 10_000,
    rounds: int = 3,
    references: bool = True,
    empty_entities: list[str] = (),
    empty_lines: int = 10_000,
    s3_lines: int = 0,
    olist: Path | None = None,
    big_day: int = 0,
) -> dict:
    """Every measurement asked for; ``s3_lines``, ``olist`` and ``big_day`` (0 or None: skipped) are the S3 run,
    the Olist sample as one run and the day of ``big_day`` lines."""
    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "scales": [],
        "backfills": [],
        "nightly": [],
        "empty_entity": [],
        "s3": None,
        "olist": None,
        "big_day": None,
        "memory_fit": None,
    }
    for history in nightly_history:
        print(
            f"measuring the nightly run after {history} days of history at {nightly_lines:,} lines a day ...",
            flush=True,
        )
        report["nightly"].append(measure_nightly(history, nightly_lines))
    for lines in scales:
        print(f"measuring {lines:,} order lines a day ...", flush=True)
        report["scales"].append(measure_scale(lines, rounds=rounds, references=references))
    for entity in empty_entities:
        print(f"measuring a day with no {entity} files after a day of {empty_lines:,} lines ...", flush=True)
        report["empty_entity"].append(measure_empty_entity(entity, empty_lines))
    if s3_lines:
        print(f"measuring a day of {s3_lines:,} lines on S3 (a metered moto server) ...", flush=True)
        report["s3"] = measure_s3(s3_lines)
    if olist:
        print(f"measuring the Olist sample in {olist} as one run ...", flush=True)
        report["olist"] = measure_olist(olist)
    if big_day:
        print(f"measuring a big day of {big_day:,} lines ...", flush=True)
        report["big_day"] = measure_big_day(big_day)
    points = [(s["lines_per_day"], s["peak_rss_mib"]) for s in [*report["scales"], report["big_day"]] if s]
    report["memory_fit"] = largest_day(points)
    if backfill_days:
        for per_day in (False, True):
            print(
                f"measuring a {backfill_days}-day backfill, {'one run per day' if per_day else 'single run'} ...",
                flush=True,
            )
            report["backfills"].append(measure_backfill(backfill_days, backfill_lines, per_day))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))
    _print_report(report)
    print(f"\nFigures written to {output}")
    return report


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "_materialize":
    _materialize(
        date.fromisoformat(sys.argv[2]),
        date.fromisoformat(sys.argv[3]),
        "--per-day" in sys.argv,
        Path(sys.argv[-1]),
        "--empty-days-expected" in sys.argv,
    )
