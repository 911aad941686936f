"""Import the dashboards bundle into Superset, replacing every object it already holds with the same UUID.

Run by the Superset virtualenv's python (``Superset.import_dashboards``), never by the pipeline:
``python superset_import.py BUNDLE.zip USERNAME``. ``superset import-dashboards`` replaces the dashboards
only: a changed chart, dataset or connection in the spec would keep its first imported version. Superset's
own import commands, one per kind and each with ``overwrite``, replace them all.
"""

import sys
from zipfile import ZipFile

import yaml
from flask import g


def main(bundle: str, username: str) -> None:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import security_manager
        from superset.commands.chart.importers.v1 import ImportChartsCommand
        from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
        from superset.commands.database.importers.v1 import ImportDatabasesCommand
        from superset.commands.dataset.importers.v1 import ImportDatasetsCommand
        from superset.commands.importers.v1.utils import get_contents_from_bundle

        g.user = security_manager.find_user(username=username)
        if g.user is None:
            raise SystemExit(f"no Superset user {username!r}")
        with ZipFile(bundle) as archive:
            contents = get_contents_from_bundle(archive)
        metadata = yaml.safe_load(contents["metadata.yaml"])
        for command, kind in (
            (ImportDatabasesCommand, "Database"),
            (ImportDatasetsCommand, "SqlaTable"),
            (ImportChartsCommand, "Slice"),
            (ImportDashboardsCommand, "Dashboard"),
        ):
            command({**contents, "metadata.yaml": yaml.safe_dump({**metadata, "type": kind})}, overwrite=True).run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
