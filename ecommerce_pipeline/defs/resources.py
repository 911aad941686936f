"""Resources, chosen per environment (ECOM_ENV) in this one place."""

import dagster as dg

from ecommerce_pipeline.catalog.athena import Athena
from ecommerce_pipeline.catalog.duckdb_catalog import DuckDBCatalog
from ecommerce_pipeline.catalog.glue import GlueCatalog
from ecommerce_pipeline.settings import Settings, is_set, load_settings
from ecommerce_pipeline.storage.aws import session
from ecommerce_pipeline.storage.io_manager import LocalParquetIOManager
from ecommerce_pipeline.storage.lake import Lake, LocalLake
from ecommerce_pipeline.storage.landing import LandingStore, LocalLandingStore
from ecommerce_pipeline.storage.s3_io_manager import S3Locations, S3ParquetIOManager
from ecommerce_pipeline.storage.s3_lake import S3Lake
from ecommerce_pipeline.storage.s3_landing import S3LandingStore
from ecommerce_pipeline.storage.tables import TableStore, glue_table_store, local_table_store


def _env(name: str) -> dg.EnvVar | None:
    """An ``EnvVar`` when the variable is set, so the UI shows where a value comes from.

    Unset values stay ``None`` and are filled from ``settings.py`` when a run uses them, so the
    defaults live in one place and follow the environment of the run, not of the import.
    """
    return dg.EnvVar(name) if is_set(name) else None


class PipelineSettings(dg.ConfigurableResource):
    """Business settings: which order statuses carry no revenue, phone and currency defaults, the store's
    time zone."""

    non_revenue_statuses: str | None = None
    default_phone_country: str | None = None
    default_currency: str | None = None
    store_timezone: str | None = None

    def timezone(self) -> str:
        return self.store_timezone or load_settings().store_timezone

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
        lake_dir = self.lake_dir or load_settings().lake_dir
        return DuckDBCatalog(
            self.catalog_path or load_settings().catalog_path, self.lake(), local_table_store(lake_dir)
        )


class TablesResource(dg.ConfigurableResource):
    """Where silver and gold tables live: Apache Iceberg tables in a SQL catalog (a SQLite file) in the lake."""

    lake_dir: str | None = None

    def store(self) -> TableStore:
        return local_table_store(self.lake_dir or load_settings().lake_dir)


class GlueTablesResource(TablesResource):
    """On AWS: Iceberg tables in the Glue Data Catalog, their files under the silver and gold S3 prefixes."""

    locations: S3Locations = S3Locations()
    glue_database: str | None = None

    def store(self) -> TableStore:
        settings, layers = load_settings(), self.locations.layers()
        if not layers["silver"] or not layers["gold"]:
            raise ValueError("ECOM_SILVER_URI and ECOM_GOLD_URI must be set: the s3:// prefixes of silver and gold")
        return glue_table_store(
            self.glue_database or settings.glue_database,
            layers["silver"],
            layers["gold"],
            self.locations.region(),
            settings.aws_endpoint_url,
        )


def local_resources() -> dict[str, object]:
    lake_io = LocalParquetIOManager(lake_dir=_env("ECOM_LAKE_DIR"))
    return {
        "io_manager": lake_io,
        "landing": LandingResource(landing_dir=_env("ECOM_LANDING_DIR")),
        "catalog": CatalogResource(catalog_path=_env("ECOM_CATALOG_PATH"), lake_dir=_env("ECOM_LAKE_DIR")),
        "tables": TablesResource(lake_dir=_env("ECOM_LAKE_DIR")),
        "pipeline_settings": PipelineSettings(
            non_revenue_statuses=_env("ECOM_NON_REVENUE_STATUSES"),
            default_phone_country=_env("ECOM_DEFAULT_PHONE_COUNTRY"),
            default_currency=_env("ECOM_DEFAULT_CURRENCY"),
            store_timezone=_env("ECOM_STORE_TIMEZONE"),
        ),
    }


class S3LandingResource(LandingResource):
    """Where raw export files arrive on AWS: <landing uri>/<entity>/<YYYY-MM-DD>/<file>."""

    landing_uri: str | None = None
    aws_region: str | None = None

    def store(self) -> LandingStore:
        settings = load_settings()
        uri = self.landing_uri or settings.landing_uri
        if not uri:
            raise ValueError("ECOM_LANDING_URI is not set: the s3:// prefix where landing files arrive")
        return S3LandingStore(uri, session(self.aws_region or settings.aws_region))


class AwsCatalogResource(dg.ConfigurableResource):
    """The lake's S3 locations (shared with the IO manager), the Glue database tables are registered in, and
    the Athena workgroup."""

    locations: S3Locations = S3Locations()
    glue_database: str | None = None
    athena_workgroup: str | None = None
    athena_results_uri: str | None = None

    def _session(self):
        return session(self.locations.region())

    def lake(self) -> S3Lake:
        return self.locations.lake()

    def glue(self) -> GlueCatalog:
        return GlueCatalog(self.glue_database or load_settings().glue_database, self._session())

    def athena(self) -> Athena:
        settings = load_settings()
        return Athena(
            self.glue_database or settings.glue_database,
            self.athena_workgroup or settings.athena_workgroup,
            self.athena_results_uri or settings.athena_results_uri,
            self._session(),
        )


def aws_resources() -> dict[str, object]:
    # The one configuration of the lake's S3 locations, given to each resource that reads or writes the lake.
    locations = S3Locations(
        bronze_uri=_env("ECOM_BRONZE_URI"),
        silver_uri=_env("ECOM_SILVER_URI"),
        gold_uri=_env("ECOM_GOLD_URI"),
        aws_region=_env("AWS_REGION"),
    )
    return {
        "io_manager": S3ParquetIOManager(locations=locations),
        "landing": S3LandingResource(landing_uri=_env("ECOM_LANDING_URI"), aws_region=_env("AWS_REGION")),
        "tables": GlueTablesResource(locations=locations, glue_database=_env("ECOM_GLUE_DATABASE")),
        "aws": AwsCatalogResource(
            locations=locations,
            glue_database=_env("ECOM_GLUE_DATABASE"),
            athena_workgroup=_env("ECOM_ATHENA_WORKGROUP"),
            athena_results_uri=_env("ECOM_ATHENA_RESULTS_URI"),
        ),
        "pipeline_settings": local_resources()["pipeline_settings"],
    }


RESOURCES_BY_ENV = {"local": local_resources, "aws": aws_resources}


def resources_for(settings: Settings | None = None) -> dict[str, object]:
    settings = settings or load_settings()
    if settings.env not in RESOURCES_BY_ENV:
        raise ValueError(f"ECOM_ENV={settings.env!r} is not one of {', '.join(RESOURCES_BY_ENV)}")
    return RESOURCES_BY_ENV[settings.env]()
