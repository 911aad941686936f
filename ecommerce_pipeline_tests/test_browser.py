"""The Dagster UI in a real browser: ``dagster dev`` on a free loopback port, driven by headless Debian chromium.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it) and the ``playwright``
Python package, which drives that browser directly (no ``playwright install``). Run on its own with
``python -m pytest -m browser``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ecommerce_pipeline.definitions import defs
from ecommerce_pipeline.tooling.generator import generate_store

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DAY = "2025-01-01"  # the first day: its snapshots need no earlier partitions
BACKFILL_DAYS = [(date(2025, 1, 1) + timedelta(days=i)).isoformat() for i in range(90)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dagster:
    """A ``dagster dev`` process and a tiny GraphQL client for it."""

    def __init__(self, url: str, process: subprocess.Popen, log: Path):
        self.url, self.process, self.log = url, process, log

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback URL built here)
            body = json.loads(response.read())
        assert "errors" not in body, body["errors"]
        return body["data"]

    def wait_for(self, predicate, what: str, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"dagster dev exited:\n{self.log.read_text()[-3000:]}"
            try:
                value = predicate()
            except OSError:
                value = None
            if value:
                return value
            time.sleep(2)
        raise AssertionError(f"timed out waiting for {what}\n{self.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    project = tmp_path_factory.mktemp("project")
    home = project / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    generate_store(project / "landing", date(2025, 1, 1), date(2025, 3, 31), lines_per_day=10, seed=11)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ECOM_LANDING_DIR": str(project / "landing"),
        "ECOM_LAKE_DIR": str(project / "lake"),
        "ECOM_CATALOG_PATH": str(project / "lake" / "catalog.duckdb"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    port = free_port()
    log = project / "dagster_dev.log"
    dagster = str(Path(sys.executable).parent / "dagster")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [dagster, "dev", "-m", "ecommerce_pipeline.definitions", "-h", "127.0.0.1", "-p", str(port)],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so teardown stops the webserver, the daemon and the code server together
        )
    server = Dagster(f"http://127.0.0.1:{port}", process, log)
    try:
        server.wait_for(lambda: _location(server), "the code location to load", timeout=300)
        yield server, project
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _location(server: Dagster) -> tuple[str, str] | None:
    data = server.graphql(
        """{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError {
             __typename ... on RepositoryLocation { repositories { name } } ... on PythonError { message } } } } } }"""
    )
    for entry in data["workspaceOrError"]["locationEntries"]:
        loaded = entry["locationOrLoadError"]
        if loaded and loaded["__typename"] == "PythonError":
            raise AssertionError(f"code location failed to load: {loaded['message']}")
        if loaded and loaded["__typename"] == "RepositoryLocation":
            return entry["name"], loaded["repositories"][0]["name"]
    return None


def _run_status(server: Dagster, run_id: str) -> str:
    data = server.graphql("query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run_id})
    return data["runOrError"]["status"]


def _finished(status: str) -> str | None:
    return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _dismiss_welcome_dialog(page):
    """A fresh instance greets the first visitor with a newsletter dialog that covers the graph."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
    except Exception:  # noqa: S110 (no dialog on this version: nothing to dismiss)
        return
    skip.click()


def test_the_ui_shows_the_layers_and_runs_a_partition_with_passing_checks(dagster_dev, browser):
    server, project = dagster_dev
    location, repository = _location(server)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})

    page.goto(f"{server.url}/asset-groups", wait_until="networkidle")
    _dismiss_welcome_dialog(page)
    for group in ("bronze", "silver", "gold", "catalog"):
        page.get_by_text(group, exact=True).first.wait_for(timeout=60_000)
    page.screenshot(path=str(project / "asset_graph.png"), full_page=True)

    # Launch one partition of every layer, exactly as the UI's "Materialize" dialog does.
    launched = server.graphql(
        """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
             __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
        {
            "params": {
                "selector": {
                    "repositoryLocationName": location,
                    "repositoryName": repository,
                    "jobName": "medallion_daily",
                },
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": DAY}]},
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    status = server.wait_for(lambda: _finished(_run_status(server, run_id)), "the run to finish", timeout=600)
    assert status == "SUCCESS", (project / "dagster_dev.log").read_text()[-3000:]

    page.goto(f"{server.url}/runs/{run_id}", wait_until="networkidle")
    page.get_by_text("Success", exact=False).first.wait_for(timeout=60_000)
    page.screenshot(path=str(project / "run.png"), full_page=True)

    page.goto(f"{server.url}/assets/silver/orders_validated?view=checks", wait_until="networkidle")
    for check in ("schema", "order_conservation", "line_conservation"):
        page.get_by_text(check, exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("Passed", exact=False).first.wait_for(timeout=60_000)
    assert page.get_by_text("Failed", exact=True).count() == 0
    page.screenshot(path=str(project / "checks.png"), full_page=True)

    checks = server.graphql(
        """{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks {
             name executionForLatestMaterialization { status } } } } } }"""
    )["assetNodes"]
    statuses = {
        ("/".join(node["assetKey"]["path"]), check["name"]): (check["executionForLatestMaterialization"] or {}).get(
            "status"
        )
        for node in checks
        for check in (node["assetChecksOrError"] or {}).get("checks", [])
    }
    every_check = {(k.asset_key.to_user_string(), k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    assert set(statuses) == every_check and set(statuses.values()) == {"SUCCEEDED"}, statuses


def _backfill(server: Dagster, first: str, last: str, title: str) -> tuple[str, list[dict]]:
    """Launch a backfill of every asset over [first, last], as the UI's dialog does; wait for it to end."""
    graph = defs.resolve_asset_graph()
    # Every asset over exactly these days. A backfill given only partition names would also target every
    # later day of the as-of tables, which Dagster reaches downstream through their history window.
    span = {"range": {"start": first, "end": last}}
    by_asset = [{"assetKey": {"path": key.path}, "partitions": span} for key in graph.get_all_asset_keys()]
    launched = server.graphql(
        """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
             __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
        {"params": {"partitionsByAssets": by_asset, "title": title}},
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    def done():
        status = server.graphql(
            "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }",
            {"id": backfill_id},
        )["partitionBackfillOrError"]["status"]
        return status if status not in ("REQUESTED",) else None

    status = server.wait_for(done, "the backfill to finish", timeout=900)
    runs = server.graphql(
        """query($tag: String!) { runsOrError(filter: {tags: [{key: "dagster/backfill", value: $tag}]}) {
             ... on Runs { results { runId status tags { key value } } } } }""",
        {"tag": backfill_id},
    )["runsOrError"]["results"]
    return status, runs


def test_a_ninety_day_backfill_from_the_ui_is_one_run(dagster_dev):
    server, project = dagster_dev
    status, runs = _backfill(server, BACKFILL_DAYS[0], BACKFILL_DAYS[-1], "90 days of demo data")
    assert status == "COMPLETED_SUCCESS", (status, runs)
    (run,) = runs
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert run["status"] == "SUCCESS"
    assert tags["dagster/asset_partition_range_start"] == BACKFILL_DAYS[0]
    assert tags["dagster/asset_partition_range_end"] == BACKFILL_DAYS[-1]
    # Gold is keyed by order date: every landing day's orders are there (an order stamped after midnight UTC in
    # its folder's day files under the next date, so the range can reach one day further).
    from ecommerce_pipeline.storage.tables import local_table_store

    sales = local_table_store(project / "lake").read("gold/daily_sales_summary", ["business_date"])
    dates = {d.isoformat() for d in sales.column("business_date").to_pylist()}
    assert set(BACKFILL_DAYS) <= dates and len(dates) <= len(BACKFILL_DAYS) + 1


# The demo's week: the seven days ending yesterday (the UI plots an asset's most recent 120 partitions).
YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)
WEEK = [(YESTERDAY - timedelta(days=6 - i)).isoformat() for i in range(7)]


def _revenue_by_day(project: Path) -> dict[str, float]:
    from ecommerce_pipeline.storage.tables import local_table_store

    sales = local_table_store(project / "lake").read("gold/daily_sales_summary", ["business_date", "total_revenue"])
    revenue: dict[str, float] = {}
    for day, amount in zip(*(sales.column(c).to_pylist() for c in sales.column_names)):
        revenue[day.isoformat()] = revenue.get(day.isoformat(), 0) + amount
    return {day: round(float(amount), 2) for day, amount in revenue.items()}


def test_each_day_of_the_demo_week_shows_its_own_revenue_and_the_plots_draw_it(dagster_dev, browser):
    """The demo's week as one run: each day's materialization carries that day's revenue, equal to the table's
    rows of that date, and the asset's Plots view draws revenue by partition."""
    server, project = dagster_dev
    generate_store(project / "landing", date.fromisoformat(WEEK[0]), YESTERDAY, lines_per_day=40, seed=12)
    status, runs = _backfill(server, WEEK[0], WEEK[-1], "the demo week")
    assert status == "COMPLETED_SUCCESS", (status, runs)
    revenue = _revenue_by_day(project)
    data = server.graphql(
        """query($days: [String!]) { assetOrError(assetKey: {path: ["gold", "daily_sales_summary"]}) {
             ... on Asset { assetMaterializations(partitions: $days) { partition
               metadataEntries { label ... on FloatMetadataEntry { floatValue } } } } } }""",
        {"days": WEEK},
    )["assetOrError"]["assetMaterializations"]
    shown = {}
    for m in data:  # newest first: the latest materialization of each day
        entries = {e["label"]: e.get("floatValue") for e in m["metadataEntries"]}
        shown.setdefault(m["partition"], entries["total_revenue"])
    assert set(shown) == set(WEEK)
    for day in WEEK:
        assert round(shown[day], 2) == revenue[day] > 0
    assert len(set(shown.values())) == 7, "seven different daily revenues"

    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    for day in (WEEK[0], WEEK[-1]):
        page.goto(
            f"{server.url}/assets/gold/daily_sales_summary?view=partitions&partition={day}", wait_until="networkidle"
        )
        _dismiss_welcome_dialog(page)
        page.get_by_text("total_revenue", exact=True).first.wait_for(timeout=60_000)
        assert f"{revenue[day]:.2f}".rstrip("0").rstrip(".") in page.inner_text("body")
        page.screenshot(path=str(project / f"daily_sales_{day}.png"), full_page=True)

    page.goto(f"{server.url}/assets/gold/daily_sales_summary?view=overview", wait_until="networkidle")
    page.get_by_text("Plots", exact=True).first.click()
    page.get_by_text("total_revenue", exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("orders", exact=True).first.wait_for(timeout=60_000)
    assert page.get_by_text("Asset plots are automatically generated by metadata").count() == 0
    page.screenshot(path=str(project / "daily_sales_plots.png"), full_page=True)
