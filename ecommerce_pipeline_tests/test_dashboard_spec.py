"""The dashboards' spec and its Superset bundle, checked without Superset: every dataset's SQL run on a real
catalog returns the columns and types the spec declares, every metric evaluates, and the bundle for Athena
differs from the local one only in the connection. The dashboards themselves are driven in a browser in
``test_dashboards_browser.py``.
"""

from __future__ import annotations

import io
import zipfile

import duckdb
import pytest
import yaml

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.dashboards.bundle import (
    DATABASE_NAME,
    ROOT,
    athena_connection,
    chart_params,
    duckdb_connection,
    load_spec,
    metric_sql,
    object_uuid,
    render,
    write_bundle,
)
from ecommerce_pipeline.settings import load_settings

DUCKDB_TYPES = {
    "DATE": {"DATE"},
    "VARCHAR": {"VARCHAR"},
    "DOUBLE": {"DOUBLE", "FLOAT", "DECIMAL"},
    "BIGINT": {"BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "UBIGINT"},
}


def test_the_five_dashboards_of_the_issue_use_every_chart_once():
    spec = load_spec()
    assert [d["title"] for d in spec["dashboards"].values()] == [
        "Sales",
        "Customers",
        "Products",
        "Funnel",
        "Data quality",
    ]
    placed = [c for d in spec["dashboards"].values() for row in d["rows"] for c in row]
    assert sorted(placed) == sorted(spec["charts"])
    assert all(len(row) <= 4 for d in spec["dashboards"].values() for row in d["rows"])


def test_a_chart_naming_an_unknown_metric_or_column_is_refused():
    dataset = load_spec()["datasets"]["daily_sales"]
    with pytest.raises(ValueError, match="metrics"):
        chart_params("c", {"kind": "line", "x": "order_date", "metrics": ["profit"]}, dataset)
    with pytest.raises(ValueError, match="x column"):
        chart_params("c", {"kind": "line", "x": "ship_date", "metrics": ["revenue"]}, dataset)
    with pytest.raises(ValueError, match="columns"):
        chart_params("c", {"kind": "table", "groupby": ["country"], "metrics": ["revenue"]}, dataset)


def test_the_athena_bundle_differs_from_the_local_one_only_in_the_connection(tmp_path):
    local = render(duckdb_connection(tmp_path / "catalog.duckdb"))
    athena = render(athena_connection("eu-west-1", "ecommerce_analytics_dev", "ecommerce_dev", "s3://results/"))
    assert local.keys() == athena.keys()
    database = f"databases/{DATABASE_NAME}.yaml"
    assert local[database]["sqlalchemy_uri"] == f"duckdb:///{(tmp_path / 'catalog.duckdb').resolve()}"
    assert local[database]["extra"]["engine_params"]["connect_args"]["read_only"] is True
    assert athena[database]["sqlalchemy_uri"] == (
        "awsathena+rest://@athena.eu-west-1.amazonaws.com:443/ecommerce_analytics_dev"
        "?work_group=ecommerce_dev&s3_staging_dir=s3%3A%2F%2Fresults%2F"
    )
    for path in local:
        if path == database:
            continue
        if path.startswith("datasets/"):
            # The same query, in each engine's dialect and table names.
            assert "gold." in local[path]["sql"] or "analytics." in local[path]["sql"], path
            assert "gold_" in athena[path]["sql"] or "analytics_" in athena[path]["sql"], path
            assert athena[path]["schema"] == "ecommerce_analytics_dev" and local[path]["schema"] is None
            strip = {"sql", "schema"}
            assert {k: v for k, v in local[path].items() if k not in strip} == {
                k: v for k, v in athena[path].items() if k not in strip
            }
        else:
            assert local[path] == athena[path], path


def test_the_bundle_is_stable_so_a_second_import_replaces_the_first(tmp_path):
    connection = duckdb_connection(tmp_path / "catalog.duckdb")
    first = write_bundle(connection, tmp_path / "a.zip").read_bytes()
    second = write_bundle(connection, tmp_path / "b.zip").read_bytes()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        names = archive.namelist()
        sales = yaml.safe_load(archive.read(f"{ROOT}/dashboards/sales.yaml"))
    assert f"{ROOT}/metadata.yaml" in names and len([n for n in names if "/charts/" in n]) == len(load_spec()["charts"])
    charts = [v for v in sales["position"].values() if isinstance(v, dict) and v.get("type") == "CHART"]
    assert {c["meta"]["uuid"] for c in charts} == {
        object_uuid("chart", c) for row in load_spec()["dashboards"]["sales"]["rows"] for c in row
    }


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """Four demo days run through every layer into a local catalog."""
    root = tmp_path_factory.mktemp("dashboards")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECOM_LANDING_DIR", str(root / "landing"))
        mp.setenv("ECOM_LAKE_DIR", str(root / "lake"))
        mp.setenv("ECOM_CATALOG_PATH", str(root / "lake" / "catalog.duckdb"))
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        mp.delenv("ECOM_ENV", raising=False)
        (root / "dagster_home").mkdir()
        args = ["--start", "2025-01-01", "--end", "2025-01-04"]
        assert main(["generate", *args, "--lines-per-day", "200", "--seed", "5"]) == 0
        assert main(["run", *args]) == 0
        yield load_settings().catalog_path


def test_every_dataset_returns_the_declared_columns_and_every_metric_evaluates(catalog):
    bundle = render(duckdb_connection(catalog))
    spec = load_spec()
    with duckdb.connect(str(catalog), read_only=True) as con:
        for name, dataset in spec["datasets"].items():
            sql = bundle[f"datasets/{DATABASE_NAME}/{name}.yaml"]["sql"]
            relation = con.sql(sql)
            described = dict(zip(relation.columns, (str(t).split("(")[0] for t in relation.types)))
            assert list(described) == list(dataset["columns"]), name
            for column, declared in dataset["columns"].items():
                assert described[column] in DUCKDB_TYPES[declared], (name, column, described[column])
            assert con.execute(f"SELECT count(*) FROM ({sql}) AS t").fetchone()[0] > 0, f"{name} is empty on demo data"
            for metric, definition in dataset["metrics"].items():
                value = con.execute(f"SELECT {metric_sql(definition)} FROM ({sql}) AS t").fetchone()[0]
                assert value is not None and value >= 0, (name, metric, value)


def test_the_dashboard_command_needs_a_catalog_and_with_no_install_a_superset(project_env, tmp_path, capsys):
    assert main(["dashboard", "--no-install", "--venv", str(tmp_path / "no-venv")]) == 2
    assert "run the pipeline first" in capsys.readouterr().out
    catalog = project_env / "lake" / "catalog.duckdb"
    catalog.parent.mkdir(parents=True)
    duckdb.connect(str(catalog)).close()
    assert main(["dashboard", "--no-install", "--venv", str(tmp_path / "no-venv")]) == 2
    assert "Superset is not installed" in capsys.readouterr().err


def test_the_superset_part_lives_in_the_data_folder_and_its_own_virtualenv(tmp_path):
    from ecommerce_pipeline.settings import load_dashboard_settings

    defaults = load_dashboard_settings({"ECOM_LAKE_DIR": str(tmp_path / "data" / "lake")})
    assert defaults.home == (tmp_path / "data" / "superset").resolve()
    assert defaults.venv.name == ".venv-superset" and defaults.password == "admin"
    moved = load_dashboard_settings({"ECOM_SUPERSET_HOME": str(tmp_path / "s"), "ECOM_SUPERSET_PASSWORD": "pw"})
    assert moved.home == (tmp_path / "s").resolve() and moved.password == "pw"


def test_on_aws_the_connection_is_athena_with_the_pipelines_workgroup_and_database(tmp_path):
    from ecommerce_pipeline.dashboards.runner import connection_for
    from ecommerce_pipeline.settings import load_settings

    from .conftest import aws_variables

    aws = connection_for(load_settings(aws_variables(tmp_path)))
    assert aws.engine == "athena" and aws.schema == "ecommerce_analytics_test"
    assert aws.sqlalchemy_uri == (
        "awsathena+rest://@athena.eu-west-1.amazonaws.com:443/ecommerce_analytics_test"
        "?work_group=ecommerce_test&s3_staging_dir=s3%3A%2F%2Fecom-athena-results%2F"
    )
    local = connection_for(load_settings({"ECOM_CATALOG_PATH": str(tmp_path / "c.duckdb")}))
    assert local.engine == "duckdb" and local.sqlalchemy_uri == f"duckdb:///{(tmp_path / 'c.duckdb').resolve()}"
