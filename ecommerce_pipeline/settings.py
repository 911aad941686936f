"""Configuration read from the environment, with the documented defaults.

Every variable is listed in the README's configuration table; this is the only module that reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_START_DATE = "2025-01-01"
DEFAULT_NON_REVENUE_STATUSES = ("cancelled", "canceled", "refunded", "unavailable", "failed")
# Underscores, not hyphens: Glue and Athena identifiers with hyphens break queries.
DEFAULT_GLUE_DATABASE = "ecommerce_analytics_dev"


@dataclass(frozen=True)
class Settings:
    env: str
    landing_dir: Path
    lake_dir: Path
    catalog_path: Path
    start_date: str
    non_revenue_statuses: tuple[str, ...]
    default_phone_country: str
    default_currency: str
    # The AWS environment (ECOM_ENV=aws): one s3:// prefix per layer, the Glue database, Athena.
    landing_uri: str | None = None
    bronze_uri: str | None = None
    silver_uri: str | None = None
    gold_uri: str | None = None
    glue_database: str = DEFAULT_GLUE_DATABASE
    athena_workgroup: str = "primary"
    athena_results_uri: str | None = None
    aws_region: str | None = None
    # Which engine computes the whole-history gold tables: "local" (in-process DuckDB) or "athena" (aws only).
    gold_engine: str = "local"
    # The store's time zone: order and event dates are calendar dates there.
    store_timezone: str = "UTC"
    aws_endpoint_url: str | None = None


def _split(value: str) -> tuple[str, ...]:
    return tuple(s.strip().lower() for s in value.split(",") if s.strip())


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    lake = Path(env.get("ECOM_LAKE_DIR", "./data/lake"))
    return Settings(
        env=env.get("ECOM_ENV", "local"),
        landing_dir=Path(env.get("ECOM_LANDING_DIR", "./data/landing")),
        lake_dir=lake,
        catalog_path=Path(env.get("ECOM_CATALOG_PATH", str(lake / "catalog.duckdb"))),
        start_date=env.get("ECOM_START_DATE", DEFAULT_START_DATE),
        non_revenue_statuses=_split(env.get("ECOM_NON_REVENUE_STATUSES", ",".join(DEFAULT_NON_REVENUE_STATUSES))),
        default_phone_country=env.get("ECOM_DEFAULT_PHONE_COUNTRY", "US").upper(),
        default_currency=env.get("ECOM_DEFAULT_CURRENCY", "USD").upper(),
        landing_uri=env.get("ECOM_LANDING_URI"),
        bronze_uri=env.get("ECOM_BRONZE_URI"),
        silver_uri=env.get("ECOM_SILVER_URI"),
        gold_uri=env.get("ECOM_GOLD_URI"),
        glue_database=env.get("ECOM_GLUE_DATABASE", DEFAULT_GLUE_DATABASE),
        athena_workgroup=env.get("ECOM_ATHENA_WORKGROUP", "primary"),
        athena_results_uri=env.get("ECOM_ATHENA_RESULTS_URI"),
        # Credentials and AWS_ENDPOINT_URL are left to boto3's own chain; the region is read here
        # because boto3 itself only looks at AWS_DEFAULT_REGION.
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        gold_engine=env.get("ECOM_GOLD_ENGINE", "local").lower(),
        store_timezone=env.get("ECOM_STORE_TIMEZONE", "UTC"),
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
    )


def is_set(name: str, environ: dict[str, str] | None = None) -> bool:
    """Whether the variable ``name`` is set: the resources name it (a Dagster ``EnvVar``, shown in the UI) only
    then, and otherwise take the default from ``load_settings`` when a run uses them."""
    env = os.environ if environ is None else environ
    return name in env


def landing_uri(environ: dict[str, str] | None = None) -> str | None:
    """The landing store as an ``s3://bucket/prefix`` URI when it lives on S3 (``ECOM_LANDING_URI``)."""
    env = os.environ if environ is None else environ
    return env.get("ECOM_LANDING_URI") or None


@dataclass(frozen=True)
class AlertSettings:
    """Where run-failure alerts go; every field is optional and an unset channel is simply not used."""

    webhook_url: str | None
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    email_from: str
    email_to: tuple[str, ...]
    ui_url: str


def load_alert_settings(environ: dict[str, str] | None = None) -> AlertSettings:
    env = os.environ if environ is None else environ
    return AlertSettings(
        webhook_url=env.get("ECOM_ALERT_WEBHOOK_URL") or None,
        smtp_host=env.get("ECOM_ALERT_SMTP_HOST") or None,
        smtp_port=int(env.get("ECOM_ALERT_SMTP_PORT", "25")),
        smtp_user=env.get("ECOM_ALERT_SMTP_USER") or None,
        smtp_password=env.get("ECOM_ALERT_SMTP_PASSWORD") or None,
        smtp_starttls=env.get("ECOM_ALERT_SMTP_STARTTLS", "false").strip().lower() in ("1", "true", "yes"),
        email_from=env.get("ECOM_ALERT_EMAIL_FROM", "ecommerce-pipeline@localhost"),
        email_to=tuple(a.strip() for a in env.get("ECOM_ALERT_EMAIL_TO", "").split(",") if a.strip()),
        ui_url=env.get("ECOM_ALERT_UI_URL", "http://127.0.0.1:3000").rstrip("/"),
    )


@dataclass(frozen=True)
class DashboardSettings:
    """The optional Superset part (``ecommerce-pipeline dashboard``)."""

    venv: Path
    home: Path
    password: str


def load_dashboard_settings(environ: dict[str, str] | None = None) -> DashboardSettings:
    env = os.environ if environ is None else environ
    lake = Path(env.get("ECOM_LAKE_DIR", "./data/lake"))
    return DashboardSettings(
        venv=Path(env.get("ECOM_SUPERSET_VENV", ".venv-superset")).resolve(),
        # Superset's metadata database and secret key, in the data folder beside the lake.
        home=Path(env.get("ECOM_SUPERSET_HOME") or lake.parent / "superset").resolve(),
        password=env.get("ECOM_SUPERSET_PASSWORD", "admin"),  # noqa: S106 (the documented local login, 127.0.0.1 only)
    )
