"""Resources, chosen per environment (ECOM_ENV) in this one place."""

import os

import dagster as dg

from ecommerce_pipeline.catalog.duckdb_catalog import DuckDBCatalog
from ecommerce_pipeline.settings import DEFAULT_NON_REVENUE_STATUSES, Settings, load_settings
from ecommerce_pipeline.storage.io_manager import LocalParquetIOManager
from ecommerce_pipeline.storage.lake import Lake, LocalLake
from ecommerce_pipeline.storage.landing import LandingStore, LocalLandingStore


def _env(name: str, default: str) -> str | dg.EnvVar:
    """An ``EnvVar`` when the variable is set, so the UI shows where a value comes from; else the default."""
    return dg.EnvVar(name) if name in os.environ else default


class PipelineSettings(dg.ConfigurableResource):
    """Business settings: which order statuses carry no revenue, phone and currency defaults."""

    non_revenue_statuses: str = ",".join(DEFAULT_NON_REVENUE_STATUSES)
    default_phone_country: str = "US"
    default_currency: str = "USD"

    def statuses(self) -> tuple[str, ...]:
        return tuple(s.strip().lower() for s in self.non_revenue_statuses.split(",") if s.strip())


class LandingResource(dg.ConfigurableResource):
    """Where raw export files arrive: <landing>/<entity>/<YYYY-MM-DD>/<file>."""

    landing_dir: str

    def store(self) -> LandingStore:
        return LocalLandingStore(self.landing_dir)


class CatalogResource(dg.ConfigurableResource):
    """The SQL catalog analysts query: a DuckDB file of views over the lake."""

    catalog_path: str
    lake_dir: str

    def lake(self) -> Lake:
        return LocalLake(self.lake_dir)

    def catalog(self) -> DuckDBCatalog:
        return DuckDBCatalog(self.catalog_path, self.lake())


def local_resources(settings: Settings) -> dict[str, object]:
    lake_dir = _env("ECOM_LAKE_DIR", str(settings.lake_dir))
    return {
        "io_manager": LocalParquetIOManager(lake_dir=lake_dir),
        "landing": LandingResource(landing_dir=_env("ECOM_LANDING_DIR", str(settings.landing_dir))),
        "catalog": CatalogResource(
            catalog_path=_env("ECOM_CATALOG_PATH", str(settings.catalog_path)), lake_dir=lake_dir
        ),
        "pipeline_settings": PipelineSettings(
            non_revenue_statuses=_env("ECOM_NON_REVENUE_STATUSES", ",".join(settings.non_revenue_statuses)),
            default_phone_country=_env("ECOM_DEFAULT_PHONE_COUNTRY", settings.default_phone_country),
            default_currency=_env("ECOM_DEFAULT_CURRENCY", settings.default_currency),
        ),
    }


RESOURCES_BY_ENV = {"local": local_resources}


def resources_for(settings: Settings | None = None) -> dict[str, object]:
    settings = settings or load_settings()
    if settings.env not in RESOURCES_BY_ENV:
        raise ValueError(f"ECOM_ENV={settings.env!r} is not one of {', '.join(RESOURCES_BY_ENV)}")
    return RESOURCES_BY_ENV[settings.env](settings)
