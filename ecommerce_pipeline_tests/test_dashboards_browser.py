"""The dashboards in a real browser: demo data run through the pipeline, ``ecommerce-pipeline dashboard`` serving
Apache Superset on a free loopback port, headless Debian chromium opening every dashboard.

Needs ``/usr/bin/chromium`` and Superset in ``.venv-superset`` (``ECOM_SUPERSET_VENV``); ``.ci/superset.sh``
installs it. Run with ``python -m pytest -m browser ecommerce_pipeline_tests/test_dashboards_browser.py``.
Screenshots land in the test's temporary folder (printed on failure), or in ``ECOM_SCREENSHOT_DIR`` if set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest

from ecommerce_pipeline.dashboards.bundle import athena_connection, load_spec
from ecommerce_pipeline.dashboards.runner import Superset

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
CLI = str(Path(sys.executable).parent / "ecommerce-pipeline")
FIRST, LAST, NEXT = "2025-01-01", "2025-01-07", "2025-01-08"
CHECKED_DAY = "2025-01-03"
PASSWORD = "dashboards-test"  # noqa: S105


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Api:
    """Superset's REST API with a JWT of the local admin."""

    def __init__(self, url: str):
        self.url = url
        self.token = self.call("POST", "/api/v1/security/login", {"username": "admin", "password": PASSWORD,
                                                                   "provider": "db"})["access_token"]  # fmt: skip

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode() if body is not None else None, headers=headers,
            method=method,
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (loopback URL built here)
            return json.loads(response.read())

    def dataset_id(self, name: str) -> int:
        datasets = self.call("GET", "/api/v1/dataset/?q=(page_size:100)")["result"]
        return next(d["id"] for d in datasets if d["table_name"] == name)

    def revenue_by_day(self, dataset_id: int) -> dict[str, float]:
        """The Sales dashboard's query (revenue per order date), bypassing any cache."""
        body = {
            "datasource": {"id": dataset_id, "type": "table"},
            "force": True,
            "queries": [{"columns": ["order_date"], "metrics": ["revenue"], "orderby": [["order_date", True]],
                         "row_limit": 10000}],
            "result_format": "json",
            "result_type": "full",
        }  # fmt: skip
        (result,) = self.call("POST", "/api/v1/chart/data", body)["result"]
        return {_day(row["order_date"]): row["revenue"] for row in result["data"]}


def _day(value) -> str:
    if isinstance(value, int | float):  # epoch milliseconds
        return time.strftime("%Y-%m-%d", time.gmtime(value / 1000))
    return str(value)[:10]


def gold_revenue(catalog: Path) -> dict[str, float]:
    with duckdb.connect(str(catalog), read_only=True) as con:
        rows = con.execute(
            "SELECT CAST(order_date AS VARCHAR), CAST(sum(total_revenue) AS DOUBLE) FROM gold.daily_sales_summary "
            "GROUP BY 1"  # DOUBLE: Superset answers in JSON numbers, whether the column is DOUBLE or DECIMAL
        ).fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    venv = Path(os.environ.get("ECOM_SUPERSET_VENV", ROOT / ".venv-superset"))
    if not (venv / "bin" / "superset").exists():
        pytest.fail(f"Superset is missing from {venv}: run .ci/superset.sh")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    root = tmp_path_factory.mktemp("dashboards")
    (root / "dagster_home").mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ECOM_", "AWS_"))},
        "DAGSTER_HOME": str(root / "dagster_home"),
        "ECOM_LANDING_DIR": str(root / "landing"),
        "ECOM_LAKE_DIR": str(root / "lake"),
        "ECOM_CATALOG_PATH": str(root / "lake" / "catalog.duckdb"),
        "ECOM_SUPERSET_HOME": str(root / "superset"),
        "ECOM_SUPERSET_VENV": str(venv),
        "ECOM_SUPERSET_PASSWORD": PASSWORD,
    }
    run = {"env": env, "cwd": root, "check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([CLI, "generate", "--start", FIRST, "--end", NEXT, "--lines-per-day", "200", "--seed", "3"], **run)
    subprocess.run([CLI, "run", "--start", FIRST, "--end", LAST], **run)
    return root, env


@pytest.fixture(scope="module")
def dashboard(project):
    root, env = project
    port = free_port()
    log = root / "dashboard.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(  # the documented command, exactly
            [CLI, "dashboard", "--no-install", "--port", str(port)], cwd=root, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            assert process.poll() is None, f"the dashboard command exited:\n{log.read_text()[-5000:]}"
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as response:  # noqa: S310
                    if response.read() == b"OK":
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, f"Superset did not start:\n{log.read_text()[-5000:]}"
            time.sleep(1)
        print(f"dashboard command to a served /health: {time.monotonic() - started:.1f}s")
        yield url, root, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def screenshot_dir(root: Path) -> Path:
    folder = Path(os.environ.get("ECOM_SCREENSHOT_DIR", root / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _chart_count(slug: str) -> int:
    spec = load_spec()["dashboards"][slug.replace("-", "_")]
    return sum(len(row) for row in spec["rows"])


def test_every_dashboard_renders_every_chart_with_data_and_sales_matches_gold(dashboard, browser):
    url, root, log = dashboard
    shots = screenshot_dir(root)
    page = browser.new_page(viewport={"width": 1600, "height": 2600})
    page.goto(f"{url}/login/")
    page.locator("#username").fill("admin")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_url(re.compile(r".*/superset/welcome/.*"), timeout=120_000)

    responses: list = []
    page.on("response", lambda r: responses.append(r) if "/api/v1/chart/data" in r.url else None)
    for slug in ("sales", "customers", "products", "funnel", "data-quality"):
        responses.clear()
        expected = _chart_count(slug)
        page.goto(f"{url}/superset/dashboard/{slug}/", wait_until="domcontentloaded")
        charts = page.locator("[data-test='chart-grid-component']")
        deadline = time.monotonic() + 180
        while len(responses) < expected or page.locator("[data-test='loading-indicator'], .loading").count():
            assert time.monotonic() < deadline, f"{slug}: {len(responses)}/{expected} chart queries answered"
            page.wait_for_timeout(500)
        page.wait_for_load_state("networkidle")
        assert charts.count() == expected, slug
        # Every chart's query answered with rows...
        for response in responses:
            assert response.status == 200, (slug, response.url, response.text()[:500])
            for result in response.json()["result"]:
                assert not result.get("error") and result["rowcount"] > 0, (slug, result.get("error"), result["query"])
        # ... and every chart drew them: no error or "no results" panel, something drawn in each.
        for i in range(expected):
            chart = charts.nth(i)
            title = chart.inner_text().split("\n")[0]
            assert chart.locator(".alert, [data-test='error-message'], .no-results, [role='alert']").count() == 0, (
                slug,
                title,
                chart.inner_text()[:500],
            )
            drawn = chart.locator("canvas, table tbody tr, .header-line")  # ECharts, table rows, big number
            assert drawn.count() > 0, (slug, title, chart.inner_text()[:500])
        page.screenshot(path=str(shots / f"{slug}.png"), full_page=True)

    # The Sales dashboard's revenue for a day is gold.daily_sales_summary's for that day.
    page.goto(f"{url}/superset/dashboard/sales/", wait_until="networkidle")
    gold = gold_revenue(root / "lake" / "catalog.duckdb")[CHECKED_DAY]
    table = page.locator("[data-test='chart-grid-component']").filter(has_text="Revenue per order date")
    row = table.locator("tr").filter(has_text=CHECKED_DAY)
    row.first.wait_for(timeout=60_000)
    assert f"{gold:,.2f}" in row.first.inner_text(), (gold, row.first.inner_text())


def test_a_run_rewrites_the_catalog_while_the_dashboard_queries_it(dashboard, project):
    url, root, log = dashboard
    _, env = project
    catalog = root / "lake" / "catalog.duckdb"
    api = Api(url)
    dataset = api.dataset_id("daily_sales")
    before = api.revenue_by_day(dataset)
    assert NEXT not in before and before[CHECKED_DAY] == pytest.approx(gold_revenue(catalog)[CHECKED_DAY])

    # Superset holds no connection between queries: right after one, the catalog takes a writer at once.
    with duckdb.connect(str(catalog)) as writer:
        writer.execute("SELECT 1")

    # A query arriving while a writer holds the catalog waits for it, then answers.
    writer = duckdb.connect(str(catalog))
    release = threading.Timer(3.0, writer.close)
    release.start()
    started = time.monotonic()
    assert api.revenue_by_day(dataset) == pytest.approx(before)
    assert time.monotonic() - started >= 2.5
    release.join()

    # The nightly run for the next day, while four clients keep querying the dashboard's data.
    answers, errors, stop = [], [], threading.Event()

    def query_loop():
        while not stop.is_set():
            try:
                answers.append((time.monotonic(), api.revenue_by_day(dataset)))
            except Exception as exc:  # every failure is reported below
                errors.append(repr(exc))

    clients = [threading.Thread(target=query_loop) for _ in range(4)]
    for client in clients:
        client.start()
    run_started = time.monotonic()
    run = subprocess.run([CLI, "run", "--start", NEXT], env=env, cwd=root, capture_output=True, text=True)
    run_ended = time.monotonic()
    time.sleep(2)
    stop.set()
    for client in clients:
        client.join()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert errors == []
    during = [a for t, a in answers if run_started <= t <= run_ended]
    assert len(during) >= 10, len(during)
    # Every answer was a whole catalog: the old days unchanged, the new day absent or complete.
    gold = gold_revenue(catalog)
    for answer in during:
        assert {d: v for d, v in answer.items() if d != NEXT} == pytest.approx(before)
    assert api.revenue_by_day(dataset) == pytest.approx(gold) and NEXT in gold


def test_the_same_dashboards_import_against_athena(dashboard):
    """The bundle rendered for Athena imports into a copy of the running Superset's metadata (moto runs no SQL)."""
    url, root, log = dashboard
    home = root / "superset-athena"
    shutil.copytree(root / "superset", home)
    superset = Superset(Path(os.environ.get("ECOM_SUPERSET_VENV", ROOT / ".venv-superset")), home, PASSWORD)
    connection = athena_connection("eu-west-1", "ecommerce_analytics_test", "ecommerce_test", "s3://results/")
    superset.import_dashboards(connection)
    superset.import_dashboards(connection)  # idempotent: a second import replaces the same objects
    spec = load_spec()
    with sqlite3.connect(home / "superset.db") as db:
        (uri,) = db.execute("SELECT sqlalchemy_uri FROM dbs WHERE database_name = 'ecommerce'").fetchone()
        datasets = dict(db.execute("SELECT table_name, sql FROM tables"))
        charts = db.execute("SELECT count(*) FROM slices").fetchone()[0]
        dashboards = sorted(r[0] for r in db.execute("SELECT dashboard_title FROM dashboards"))
        databases = db.execute("SELECT count(*) FROM dbs").fetchone()[0]
    assert uri.startswith("awsathena+rest://@athena.eu-west-1.amazonaws.com:443/ecommerce_analytics_test?")
    assert "work_group=ecommerce_test" in uri.split("?")[1].split("&")
    assert databases == 1 and charts == len(spec["charts"]) and sorted(datasets) == sorted(spec["datasets"])
    assert dashboards == sorted(d["title"] for d in spec["dashboards"].values())
    assert "FROM gold_daily_sales_summary" in datasets["daily_sales"]
