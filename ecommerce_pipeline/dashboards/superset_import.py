"""Create the local admin, then import the dashboards bundle into Superset, replacing every object it already
holds with the same UUID.

Run by the Superset virtualenv's python (``Superset.import_dashboards``), never by the pipeline:
``ECOM_SUPERSET_PASSWORD=... python -P superset_import.py BUNDLE.zip USERNAME``. The admin is created with
that password, or given it when it had another one. ``superset import-dashboards`` replaces the dashboards
only: a changed chart, dataset or connection in the spec would keep its first imported version. Superset's
own import commands, one per kind and each with ``overwrite``, replace them all.
"""

import os
import sys
from zipfile import ZipFile

import yaml
from flask import g
from werkzeug.security import check_password_hash


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

        password = os.environ["ECOM_SUPERSET_PASSWORD"]
        user = security_manager.find_user(username=username)
        if user is None:
            role = security_manager.find_role(security_manager.auth_role_admin)
            user = security_manager.add_user(
                username, "Local", "Admin", f"{username}@localhost", role, password=password
            )
            if not user:
                raise SystemExit(f"could not create the Superset user {username!r}")
        elif not check_password_hash(user.password, password):
            security_manager.reset_password(user.id, password)
        g.user = user
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
