"""``ecommerce-pipeline local-aws``: a moto server on 127.0.0.1 standing in for an AWS account.

It starts ``moto.server`` as a background process, creates what the Terraform creates in a real account
(the landing, bronze, silver, gold and Athena-results buckets, the Glue database and the Athena workgroup,
named as ``infra/`` names them for an environment called ``local``), and prints the ``export`` lines that
point the pipeline at it, so ``eval "$(ecommerce-pipeline local-aws)"`` configures the shell. moto keeps
everything in the server's memory: stopping it (``ecommerce-pipeline local-aws --stop``) forgets it all.
moto runs no SQL: Athena statements are accepted and answer no rows.

The server sits behind ``S3ReadMeter``, which notes every object GET it answers (key, byte range, bytes sent):
``s3_reads(endpoint)`` fetches them from any process, and ``lake_traffic`` sets the bytes read from a lake's
locations against the bytes stored there. ``MeteredMotoServer`` runs the same server in a thread of this
process (the tests' server).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote

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


METER_PATH = "/_s3-meter"


@dataclass(frozen=True)
class ObjectRead:
    """One object GET the server answered: ``bucket/key``, the Range asked for (None: the whole object), bytes sent,
    and when it was asked (``time.time()`` on the server, to set reads against a run's steps)."""

    key: str
    range: str | None
    bytes: int
    at: float = 0.0


class S3ReadMeter:
    """WSGI middleware in front of moto's app that notes every S3 object GET it answers (path-style requests,
    which is what clients send to an IP address). ``GET /_s3-meter`` answers the notes as JSON, ``POST`` forgets
    them."""

    def __init__(self, app):
        self.app = app
        self._reads: list[ObjectRead] = []
        self._lock = threading.Lock()

    def reads(self) -> list[ObjectRead]:
        with self._lock:
            return list(self._reads)

    def reset(self) -> None:
        with self._lock:
            self._reads.clear()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == METER_PATH:
            if environ["REQUEST_METHOD"] == "POST":
                self.reset()
            body = json.dumps([asdict(r) for r in self.reads()]).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        bucket, _, key = path.lstrip("/").partition("/")
        if environ["REQUEST_METHOD"] != "GET" or not key or bucket == "moto-api":
            return self.app(environ, start_response)
        return self._counted(environ, start_response, f"{bucket}/{unquote(key)}")

    def _counted(self, environ, start_response, key: str) -> Iterator[bytes]:
        status = []

        def start(line, headers, exc_info=None):
            status.append(int(line.split()[0]))
            return start_response(line, headers, exc_info)

        asked, answer, sent = time.time(), self.app(environ, start), 0
        try:
            for chunk in answer:
                sent += len(chunk)
                yield chunk
        finally:
            if hasattr(answer, "close"):
                answer.close()
            if status and status[0] < 300:
                with self._lock:
                    self._reads.append(ObjectRead(key, environ.get("HTTP_RANGE"), sent, asked))


def metered_app() -> S3ReadMeter:
    """moto's server application (every service it mocks) behind an ``S3ReadMeter``."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return S3ReadMeter(DomainDispatcherApplication(create_backend_app))


class MeteredMotoServer:
    """A moto server on HOST in a thread of this process, behind an ``S3ReadMeter`` (``meter``)."""

    def __init__(self, port: int = 0):
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        self.meter = metered_app()
        self._server = make_server(HOST, port, self.meter, threaded=True, request_handler=MotoRequestHandler)
        self.endpoint = f"http://{HOST}:{self._server.server_port}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> MeteredMotoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


def s3_reads(endpoint: str, reset: bool = False) -> list[ObjectRead]:
    """The object GETs the metered server at ``endpoint`` has answered (``reset``: and forget them)."""
    # endpoint is a local moto server's http://127.0.0.1:<port>
    request = urllib.request.Request(f"{endpoint}{METER_PATH}", method="POST" if reset else "GET")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310  # nosec B310
        return [ObjectRead(**r) for r in json.loads(answer.read())]


@dataclass(frozen=True)
class S3Traffic:
    """What was read from a lake's S3 locations against what they hold."""

    bytes_read: int  # bytes of the object GETs answered under the locations
    bytes_stored: int  # total size of the objects now under them
    gets: int  # object GETs answered
    objects_read: int  # distinct objects those GETs read
    objects_stored: int

    def summary(self) -> str:
        mib = 1024 * 1024
        return (
            f"read {self.bytes_read / mib:.1f} MiB from S3 in {self.gets} GETs of {self.objects_read} objects; "
            f"{self.bytes_stored / mib:.1f} MiB stored in {self.objects_stored} objects"
        )


def key_prefixes(locations: Iterable[str]) -> list[str]:
    """``bucket/prefix/`` of each s3:// location; a location inside another one (quarantine inside bronze) once."""
    prefixes = sorted({uri.removeprefix("s3://").rstrip("/") + "/" for uri in locations})
    return [p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)]


def stored_objects(locations: Iterable[str], s3=None) -> dict[str, int]:
    """The size of every object now under the ``locations``, by ``bucket/key`` (as ``ObjectRead.key``)."""
    s3 = s3 or boto3.client("s3")
    sizes = {}
    for prefix in key_prefixes(locations):
        bucket, _, key_prefix = prefix.partition("/")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
            sizes.update({f"{bucket}/{o['Key']}": o["Size"] for o in page.get("Contents", [])})
    return sizes


def lake_traffic(reads: Iterable[ObjectRead], locations: Iterable[str], s3=None) -> S3Traffic:
    """``reads`` (from ``s3_reads`` or a ``MeteredMotoServer``'s meter) under the ``locations`` (s3:// prefixes:
    ``lake.layers.values()``), against the objects stored there now, listed with ``s3`` (a boto3 S3 client)."""
    prefixes = key_prefixes(locations)
    inside = [r for r in reads if any(r.key.startswith(p) for p in prefixes)]
    sizes = stored_objects(prefixes, s3)
    return S3Traffic(
        bytes_read=sum(r.bytes for r in inside),
        bytes_stored=sum(sizes.values()),
        gets=len(inside),
        objects_read=len({r.key for r in inside}),
        objects_stored=len(sizes),
    )


def start_server(port: int, state: Path) -> subprocess.Popen:
    """The metered moto server on HOST:port in its own session, so it outlives this command; its log goes to
    ``state``."""
    state.mkdir(parents=True, exist_ok=True)
    log = (state / "moto.log").open("ab")
    return subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-m", "ecommerce_pipeline.ops.local_aws", str(port)],
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


if __name__ == "__main__":
    # A process started by one that ignores or blocks SIGTERM inherits that across exec (a test runner, a
    # supervisor): ``stop`` would then leave the server running. It always ends on SIGTERM.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    MeteredMotoServer(int(sys.argv[1])).serve_forever()  # what start_server runs
