"""Resources, chosen per environment (ECOM_ENV) in this one place."""

import os

import dagster as dg

from ecommerce_pipeline.catalog.duckdb_catalog import DuckDBCatalog
from ecommerce_pipeline.settings import Settings, load_settings
from ecommerce_pipeline.storage.io_manager import LocalParquetIOManager
from ecommerce_pipeline.storage.lake import Lake, LocalLake
from ecommerce_pipeline.storage.landing import LandingStore, LocalLandingStore


def _env(name: str) -> dg.EnvVar | None:
    """An ``EnvVar`` when the variable is set, so the UI shows where a value comes from.

    Unset values stay ``None`` and are filled from ``settings.py`` when a run uses them, so the
    defaults live in one place and follow the environment of the run, not of the import.
    """
    return dg.EnvVar(name) if name in os.environ else None


class PipelineSettings(dg.ConfigurableResource):
    """Business settings: which order statuses carry no revenue, phone and currency defaults."""

    non_revenue_statuses: str | None = None
    default_phone_country: str | None = None
    default_currency: str | None = None

    def statuses(self) -> tuple[str, ...]:
        if self.non_revenue_statuses is None:
            return load_settings().non_revenue_statuses
        return tuple(s.strip().lower() for s in self.non_revenue_statuses.split(",") if s.strip())

    def phone_country(self) -> str:
        return (self.default_phone_country or load_settings().default_phone_country).upper()

    def currency(self) -> str:
        return (self.default_currency or load_settings().default_currency).upper()


class LandingResource(dg.ConfigurableResource):
    """Where raw export files arrive: <landing>/<entity>/<YYYY-MM-DD>/<file>."""

    landing_dir: str | None = None

    def store(self) -> LandingStore:
        return LocalLandingStore(self.landing_dir or load_settings().landing_dir)


class CatalogResource(dg.ConfigurableResource):
    """The SQL catalog analysts query: a DuckDB file of views over the lake."""

    catalog_path: str | None = None
    lake_dir: str | None = None

    def lake(self) -> Lake:
        return LocalLake(self.lake_dir or load_settings().lake_dir)

    def catalog(self) -> DuckDBCatalog:
        return DuckDBCatalog(self.catalog_path or load_settings().catalog_path, self.lake())


class QuarantineFilesResource(dg.ConfigurableResource):
    """Where landing files the parser cannot read at all are kept whole: <lake>/quarantine/files/."""

    lake_dir: str | None = None

    def lake(self) -> Lake:
        return LocalLake(self.lake_dir or load_settings().lake_dir)


def local_resources() -> dict[str, object]:
    return {
        "io_manager": LocalParquetIOManager(lake_dir=_env("ECOM_LAKE_DIR")),
        "landing": LandingResource(landing_dir=_env("ECOM_LANDING_DIR")),
        "catalog": CatalogResource(catalog_path=_env("ECOM_CATALOG_PATH"), lake_dir=_env("ECOM_LAKE_DIR")),
        "quarantine_files": QuarantineFilesResource(lake_dir=_env("ECOM_LAKE_DIR")),
        "pipeline_settings": PipelineSettings(
            non_revenue_statuses=_env("ECOM_NON_REVENUE_STATUSES"),
            default_phone_country=_env("ECOM_DEFAULT_PHONE_COUNTRY"),
            default_currency=_env("ECOM_DEFAULT_CURRENCY"),
        ),
    }


RESOURCES_BY_ENV = {"local": local_resources}


def resources_for(settings: Settings | None = None) -> dict[str, object]:
    settings = settings or load_settings()
    if settings.env not in RESOURCES_BY_ENV:
        raise ValueError(f"ECOM_ENV={settings.env!r} is not one of {', '.join(RESOURCES_BY_ENV)}")
    return RESOURCES_BY_ENV[settings.env]()
