"""``ecommerce-pipeline local-aws``: a moto server on 127.0.0.1 standing in for an AWS account.

It starts ``moto.server`` as a background process, creates what the Terraform creates in a real account
(the landing, bronze, silver, gold and Athena-results buckets, the Glue database and the Athena workgroup,
named as ``infra/`` names them for an environment called ``local``), and prints the ``export`` lines that
point the pipeline at it, so ``eval "$(ecommerce-pipeline local-aws)"`` configures the shell. moto keeps
everything in the server's memory: stopping it (``ecommerce-pipeline local-aws --stop``) forgets it all.
moto runs no SQL: Athena statements are accepted and answer no rows.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

PROJECT = "ecommerce-pipeline"
ENVIRONMENT = "local"
REGION = "eu-west-1"
HOST = "127.0.0.1"
STATE_DIR = ".local-aws"  # in the current folder: the server's pid and log


def bucket(layer: str) -> str:
    return f"{PROJECT}-{ENVIRONMENT}-{layer}"


def variables(endpoint: str) -> dict[str, str]:
    """Every variable the pipeline needs to run against the server at ``endpoint``."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # moto accepts any credentials; these only keep boto3 from looking for real ones.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 (moto's placeholder, not a secret)
        "ECOM_ENV": "aws",
        "ECOM_LANDING_URI": f"s3://{bucket('landing')}/exports",
        "ECOM_BRONZE_URI": f"s3://{bucket('bronze')}",
        "ECOM_SILVER_URI": f"s3://{bucket('silver')}",
        "ECOM_GOLD_URI": f"s3://{bucket('gold')}",
        "ECOM_GLUE_DATABASE": "ecommerce_analytics_local",
        "ECOM_ATHENA_WORKGROUP": f"{PROJECT}-{ENVIRONMENT}-pipeline",
        "ECOM_ATHENA_RESULTS_URI": f"s3://{bucket('athena-results')}/results/",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(port: int, state: Path) -> subprocess.Popen:
    """moto.server on HOST:port in its own session, so it outlives this command; its log goes to ``state``."""
    state.mkdir(parents=True, exist_ok=True)
    log = (state / "moto.log").open("ab")
    return subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_until_up(endpoint: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            # endpoint is always http://127.0.0.1:<port>, built in start() above
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2):  # noqa: S310  # nosec B310
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"moto server exited with code {process.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"moto server at {endpoint} did not answer within {timeout:.0f}s") from None
            time.sleep(0.2)


def create_resources(values: dict[str, str]) -> None:
    """The buckets, Glue database and Athena workgroup the Terraform creates, on the server at AWS_ENDPOINT_URL."""
    session = boto3.Session(
        region_name=values["AWS_REGION"],
        aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
    )
    endpoint = values["AWS_ENDPOINT_URL"]
    s3 = session.client("s3", endpoint_url=endpoint)
    uris = [values[k] for k in ("ECOM_LANDING_URI", "ECOM_BRONZE_URI", "ECOM_SILVER_URI", "ECOM_GOLD_URI")]
    for name in sorted({u.split("/")[2] for u in [*uris, values["ECOM_ATHENA_RESULTS_URI"]]}):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": values["AWS_REGION"]})
    glue = session.client("glue", endpoint_url=endpoint)
    glue.create_database(DatabaseInput={"Name": values["ECOM_GLUE_DATABASE"]})
    athena = session.client("athena", endpoint_url=endpoint)
    athena.create_work_group(
        Name=values["ECOM_ATHENA_WORKGROUP"],
        Configuration={"ResultConfiguration": {"OutputLocation": values["ECOM_ATHENA_RESULTS_URI"]}},
    )


def exports(values: dict[str, str]) -> str:
    return "\n".join(f"export {name}={value}" for name, value in values.items())


def start(port: int = 0, state: Path = Path(STATE_DIR)) -> tuple[subprocess.Popen, dict[str, str]]:
    """Start the server (on a free port unless one is given), create the resources; returns it and the variables."""
    port = port or free_port()
    endpoint = f"http://{HOST}:{port}"
    process = start_server(port, state)
    try:
        wait_until_up(endpoint, process)
        values = variables(endpoint)
        create_resources(values)
    except BaseException:
        os.killpg(process.pid, signal.SIGTERM)
        raise
    (state / "moto.pid").write_text(f"{process.pid}\n")
    return process, values


def stop(state: Path = Path(STATE_DIR)) -> int | None:
    """Stop the server this folder's ``local-aws`` started; returns its pid, or None when none was running."""
    pid_file = state / "moto.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.killpg(pid, signal.SIGTERM)  # the server's own session, started by start_server
    except ProcessLookupError:
        return None
    return pid
