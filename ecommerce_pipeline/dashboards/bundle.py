"""``spec.yaml`` rendered as a Superset import bundle (the ZIP that ``superset import-dashboards`` reads).

One spec, two engines: the dataset SQL is written once in Athena's dialect over the Glue table names, and
the database entry is the only engine-specific part. For the local DuckDB catalog the SQL goes through the
query library's own translation (``to_duckdb``: sqlglot, ``gold_x`` -> ``gold.x``); for Athena it is used
as written. Every object has a UUID derived from its name, so importing again replaces, never duplicates.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import yaml

from ecommerce_pipeline.catalog.query_library import to_duckdb

NAMESPACE = uuid.UUID("6f1d3c52-5e0b-4f4e-9a51-3c1f0e0a9d14")
DATABASE_NAME = "ecommerce"
ROOT = "ecommerce_dashboards"
TIME_TYPES = ("DATE", "TIMESTAMP")
ROW_HEIGHT = 50


def load_spec() -> dict[str, Any]:
    return yaml.safe_load((files("ecommerce_pipeline.dashboards") / "spec.yaml").read_text())


def object_uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{name}"))


@dataclass(frozen=True)
class Connection:
    """The database the charts query: the only part that differs between the laptop and AWS."""

    engine: str  # "duckdb" or "athena"
    sqlalchemy_uri: str
    schema: str | None
    extra: dict

    def dataset_sql(self, athena_sql: str) -> str:
        return to_duckdb(athena_sql) if self.engine == "duckdb" else athena_sql.strip()


def duckdb_connection(catalog_path: str | Path) -> Connection:
    """The local catalog, opened read-only on every query (the nightly run keeps writing it, see superset_config)."""
    path = Path(catalog_path).resolve()
    return Connection(
        engine="duckdb",
        sqlalchemy_uri=f"duckdb:///{path}",
        schema=None,
        extra={"engine_params": {"connect_args": {"read_only": True}}},
    )


def athena_connection(region: str, database: str, workgroup: str, results_uri: str | None = None) -> Connection:
    """Athena through PyAthena, with the workgroup and Glue database the pipeline uses (``ECOM_ATHENA_*``)."""
    query = {"work_group": workgroup}
    if results_uri:
        query["s3_staging_dir"] = results_uri
    params = "&".join(f"{k}={quote_plus(v)}" for k, v in query.items())
    return Connection(
        engine="athena",
        sqlalchemy_uri=f"awsathena+rest://@athena.{region}.amazonaws.com:443/{database}?{params}",
        schema=database,
        extra={},
    )


def metric_sql(definition: str | dict) -> str:
    return definition["sql"] if isinstance(definition, dict) else definition


def _metric_format(definition: str | dict) -> str | None:
    return definition.get("format") if isinstance(definition, dict) else None


def _metric_list(dataset: dict, names: list[str], chart: str) -> list[str]:
    missing = [m for m in names if m not in dataset["metrics"]]
    if missing:
        raise ValueError(f"chart {chart}: metrics {missing} are not defined by its dataset")
    return names


def chart_params(name: str, chart: dict, dataset: dict) -> tuple[str, dict]:
    """(Superset viz_type, form data) of one chart of the spec."""
    kind = chart["kind"]
    params: dict[str, Any] = {"adhoc_filters": [], "row_limit": chart.get("row_limit", 10000)}
    columns = dataset["columns"]
    if kind in ("line", "bar"):
        x = chart["x"]
        if x not in columns:
            raise ValueError(f"chart {name}: x column {x!r} is not a column of its dataset")
        params.update(
            x_axis=x,
            metrics=_metric_list(dataset, chart["metrics"], name),
            groupby=[chart["groupby"]] if chart.get("groupby") else [],
            x_axis_sort_asc=True,
            show_legend=True,
            rich_tooltip=True,
            truncate_metric=True,
        )
        if columns[x] in TIME_TYPES:
            params["time_grain_sqla"] = "P1D"
        else:
            params.update(x_axis_sort=None, xAxisLabelRotation=45 if columns[x] == "VARCHAR" else 0)
        if chart.get("stack"):
            params["stack"] = "Stack"
        formats = {_metric_format(dataset["metrics"][m]) for m in chart["metrics"]}
        if len(formats) == 1 and (only := formats.pop()) and only.endswith("%"):  # rates: a percent axis
            params["y_axis_format"] = only
        viz = "echarts_timeseries_line" if kind == "line" else "echarts_timeseries_bar"
    elif kind in ("pie", "funnel"):
        params.update(groupby=[chart["groupby"]], metric=_metric_list(dataset, [chart["metric"]], name)[0])
        if kind == "pie":
            params.update(show_labels=True, label_type="key_value", show_legend=True, sort_by_metric=True)
        else:
            params.update(sort_by_metric=False, show_labels=True, label_type="key_value_percent")
        viz = kind
    elif kind == "big_number":
        params.update(metric=_metric_list(dataset, [chart["metric"]], name)[0], header_font_size=0.4)
        viz = "big_number_total"
    elif kind == "table":
        if "columns" in chart:
            params.update(query_mode="raw", all_columns=chart["columns"], order_by_cols=[])
            if chart.get("order_by"):
                params["order_by_cols"] = [json.dumps([chart["order_by"], True])]
        else:
            params.update(
                query_mode="aggregate",
                groupby=chart["groupby"],
                metrics=_metric_list(dataset, chart["metrics"], name),
                order_desc=True,
            )
        params.update(table_timestamp_format="%Y-%m-%d", include_search=False, page_length=0)
        viz = "table"
    else:
        raise ValueError(f"chart {name}: unknown kind {kind!r}")
    unknown = [c for c in params.get("all_columns", []) + params.get("groupby", []) if c not in columns]
    if unknown:
        raise ValueError(f"chart {name}: columns {unknown} are not columns of its dataset")
    params["viz_type"] = viz
    return viz, params


def _dataset_yaml(name: str, dataset: dict, connection: Connection) -> dict:
    columns = dataset["columns"]
    times = [c for c, t in columns.items() if t in TIME_TYPES]
    return {
        "table_name": name,
        "main_dttm_col": times[0] if times else None,
        "description": dataset.get("description"),
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "schema": connection.schema,
        "sql": connection.dataset_sql(dataset["sql"]),
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": object_uuid("dataset", name),
        "metrics": [
            {
                "metric_name": metric,
                "verbose_name": metric.replace("_", " "),
                "metric_type": None,
                "expression": metric_sql(definition),
                "description": None,
                "d3format": _metric_format(definition),
                "extra": None,
                "warning_text": None,
            }
            for metric, definition in dataset["metrics"].items()
        ],
        "columns": [
            {
                "column_name": column,
                "verbose_name": None,
                "is_dttm": kind in TIME_TYPES,
                "is_active": True,
                "type": kind,
                "advanced_data_type": None,
                "groupby": True,
                "filterable": True,
                "expression": None,
                "description": None,
                "python_date_format": None,
                "extra": None,
            }
            for column, kind in columns.items()
        ],
        "version": "1.0.0",
        "database_uuid": object_uuid("database", DATABASE_NAME),
    }


def _dashboard_yaml(name: str, dashboard: dict, charts: dict) -> dict:
    local_ids = {chart: i for i, chart in enumerate(charts, start=1)}  # replaced by the real ids on import
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": dashboard["title"]}},
    }
    for r, row in enumerate(dashboard["rows"]):
        row_id = f"ROW-{name}-{r}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        width = 12 // len(row)
        for chart in row:
            chart_id = f"CHART-{chart}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "width": width,
                    "height": ROW_HEIGHT if charts[chart]["kind"] != "big_number" else 25,
                    "uuid": object_uuid("chart", chart),
                    "chartId": local_ids[chart],
                    "sliceName": charts[chart]["title"],
                },
            }
    return {
        "dashboard_title": dashboard["title"],
        "description": None,
        "css": "",
        "slug": name.replace("_", "-"),
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": object_uuid("dashboard", name),
        "position": position,
        "metadata": {
            "color_scheme": "supersetColors",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "default_filters": "{}",
            "native_filter_configuration": [],
        },
        "version": "1.0.0",
    }


def render(connection: Connection, spec: dict | None = None) -> dict[str, dict]:
    """The bundle's files (path -> YAML document) for ``connection``."""
    spec = spec or load_spec()
    datasets, charts, dashboards = spec["datasets"], spec["charts"], spec["dashboards"]
    out: dict[str, dict] = {
        "metadata.yaml": {"version": "1.0.0", "type": "Dashboard", "timestamp": "2025-01-01T00:00:00+00:00"},
        f"databases/{DATABASE_NAME}.yaml": {
            "database_name": DATABASE_NAME,
            "sqlalchemy_uri": connection.sqlalchemy_uri,
            "cache_timeout": None,
            "expose_in_sqllab": True,
            "allow_run_async": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_dml": False,
            "allow_file_upload": False,
            "extra": connection.extra,
            "uuid": object_uuid("database", DATABASE_NAME),
            "version": "1.0.0",
        },
    }
    for name, dataset in datasets.items():
        out[f"datasets/{DATABASE_NAME}/{name}.yaml"] = _dataset_yaml(name, dataset, connection)
    for name, chart in charts.items():
        if chart["dataset"] not in datasets:
            raise ValueError(f"chart {name}: unknown dataset {chart['dataset']!r}")
        viz, params = chart_params(name, chart, datasets[chart["dataset"]])
        out[f"charts/{name}.yaml"] = {
            "slice_name": chart["title"],
            "description": None,
            "certified_by": None,
            "certification_details": None,
            "viz_type": viz,
            "params": params,
            "query_context": None,
            "cache_timeout": None,
            "uuid": object_uuid("chart", name),
            "version": "1.0.0",
            "dataset_uuid": object_uuid("dataset", chart["dataset"]),
        }
    for name, dashboard in dashboards.items():
        unknown = [c for row in dashboard["rows"] for c in row if c not in charts]
        if unknown:
            raise ValueError(f"dashboard {name}: unknown charts {unknown}")
        out[f"dashboards/{name}.yaml"] = _dashboard_yaml(name, dashboard, charts)
    return out


def write_bundle(connection: Connection, path: str | Path) -> Path:
    """The import ZIP for ``connection`` at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, document in render(connection).items():
            entry = zipfile.ZipInfo(f"{ROOT}/{name}", date_time=(2025, 1, 1, 0, 0, 0))  # same spec, same bytes
            archive.writestr(entry, yaml.safe_dump(document, sort_keys=False), zipfile.ZIP_DEFLATED)
    path.write_bytes(buffer.getvalue())
    return path
