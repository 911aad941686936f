"""Apache Superset as an optional part: its own virtualenv, a local metadata database, the bundle import.

The pipeline never imports Superset. It lives in ``.venv-superset`` (``ECOM_SUPERSET_VENV``) with the pins
of ``requirements.txt`` and ``constraints.txt`` (every package, as tested) beside this file, so its dependencies never constrain the pipeline's; every step
here shells out to that virtualenv's ``superset`` command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

from ecommerce_pipeline.dashboards.bundle import Connection, athena_connection, duckdb_connection, write_bundle
from ecommerce_pipeline.settings import Settings

ADMIN_USER = "admin"
DEFAULT_PASSWORD = "admin"  # noqa: S105 (the documented local login; served on 127.0.0.1 only)


def requirements_file() -> Path:
    with as_file(files("ecommerce_pipeline.dashboards") / "requirements.txt") as path:
        return Path(path)


def constraints_file() -> Path:
    with as_file(files("ecommerce_pipeline.dashboards") / "constraints.txt") as path:
        return Path(path)


def config_file() -> Path:
    with as_file(files("ecommerce_pipeline.dashboards") / "superset_config.py") as path:
        return Path(path)


def connection_for(settings: Settings) -> Connection:
    """The local DuckDB catalog, or Athena with the pipeline's own workgroup and Glue database on AWS."""
    if settings.env == "aws":
        return athena_connection(
            settings.aws_region or "us-east-1",
            settings.glue_database,
            settings.athena_workgroup,
            settings.athena_results_uri,
        )
    return duckdb_connection(settings.catalog_path)


@dataclass
class Superset:
    venv: Path
    home: Path
    password: str = DEFAULT_PASSWORD

    @property
    def executable(self) -> Path:
        return self.venv / "bin" / "superset"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SUPERSET_CONFIG_PATH": str(config_file()),
            "ECOM_SUPERSET_HOME": str(self.home),
            "SUPERSET_HOME": str(self.home),
            "FLASK_APP": "superset.app:create_app()",
            "PYTHONWARNINGS": "ignore",
        }

    def installed(self) -> bool:
        return self.executable.exists()

    def install(self, log=print) -> float:
        """Create the virtualenv and install the pinned Superset into it; returns the seconds it took."""
        started = time.perf_counter()
        log(f"Installing Apache Superset into {self.venv} (once; a few minutes) ...")
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)  # noqa: S603
        pip = [str(self.venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "-r", str(requirements_file()), "-c", str(constraints_file())], check=True)  # noqa: S603
        return time.perf_counter() - started

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 (our own virtualenv's superset command)
            [str(self.executable), *args], env=self.env(), check=True, **kwargs
        )

    def initialise(self, log=print) -> None:
        """The metadata database and the roles, once per Superset version (the admin comes with the import)."""
        self.home.mkdir(parents=True, exist_ok=True)
        version = subprocess.run(  # noqa: S603
            [str(self.venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('apache-superset'))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        marker = self.home / "initialised"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "text": True}
        if not marker.exists() or marker.read_text() != version:
            log(f"Initialising Superset's metadata database in {self.home} ...")
            self.run("db", "upgrade", **quiet)
            self.run("init", **quiet)
            marker.write_text(version)

    def import_dashboards(self, connection: Connection) -> Path:
        """Render the spec for ``connection`` and import it as the local admin (created or given ``password`` if
        needed); importing again replaces the same objects."""
        bundle = write_bundle(connection, self.home / "bundle.zip")
        script = files("ecommerce_pipeline.dashboards") / "superset_import.py"
        with as_file(script) as path:
            subprocess.run(  # noqa: S603 (our own virtualenv's python and script)
                [str(self.venv / "bin" / "python"), "-P", str(path), str(bundle), ADMIN_USER],
                env={**self.env(), "ECOM_SUPERSET_PASSWORD": self.password}, check=True, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
        return bundle

    def serve_command(self, host: str, port: int) -> list[str]:
        return [str(self.executable), "run", "--host", host, "--port", str(port), "--with-threads"]
