"""The run-failure alert, delivered to a real HTTP server and a real SMTP sink on 127.0.0.1."""

import email
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.defs.automation.alerts import failed_check_alert, run_failure_alert


@dg.op
def load_orders():
    raise dg.Failure("the orders bucket is unreachable", allow_retries=False)


@dg.job(partitions_def=dg.DailyPartitionsDefinition(start_date="2025-01-01"))
def nightly():
    load_orders()


@pytest.fixture
def failure_context():
    """A run that really failed, in a real instance, and the sensor context built from its failure event."""
    with dg.instance_for_test() as instance:
        result = nightly.execute_in_process(instance=instance, partition_key="2025-01-05", raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        (event,) = [
            e.dagster_event
            for e in instance.all_logs(run.run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE"
        ]
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert", dagster_event=event, dagster_instance=instance, dagster_run=run
        )
        yield context.for_run_failure()


class Webhook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Webhook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/data-team", Webhook.received
    server.shutdown()


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    with socket.socket() as probe:  # aiosmtpd cannot report a port chosen by the OS, so pick a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox.messages
    controller.stop()


def test_a_failed_run_is_posted_to_the_webhook_and_emailed(failure_context, webhook, smtp, monkeypatch, capfd):
    url, posts = webhook
    port, mails = smtp
    monkeypatch.setenv("ECOM_ALERT_WEBHOOK_URL", url)
    monkeypatch.setenv("ECOM_ALERT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ECOM_ALERT_SMTP_PORT", str(port))
    monkeypatch.setenv("ECOM_ALERT_EMAIL_FROM", "pipeline@shop.test")
    monkeypatch.setenv("ECOM_ALERT_EMAIL_TO", "oncall@shop.test, data@shop.test")
    monkeypatch.setenv("ECOM_ALERT_UI_URL", "http://dagster.shop.test/")
    run_failure_alert(failure_context)

    (path, content_type, payload) = posts[0]
    assert len(posts) == 1 and path == "/hooks/data-team" and content_type == "application/json"
    run_id = failure_context.dagster_run.run_id
    assert payload["text"] == "[ecommerce-pipeline] nightly failed (2025-01-05)"
    detail = payload["blocks"][0]["text"]["text"]
    assert run_id in detail and "load_orders" in detail and f"http://dagster.shop.test/runs/{run_id}" in detail
    assert "Root cause: load_orders: Failure: the orders bucket is unreachable" in detail

    ((sender, recipients, content),) = mails
    assert sender == "pipeline@shop.test" and recipients == ["oncall@shop.test", "data@shop.test"]
    message = email.message_from_bytes(content)
    assert message["Subject"] == payload["text"]
    assert "load_orders" in message.get_payload() and run_id in message.get_payload()
    assert "alert" not in capfd.readouterr().err  # nothing fell back to the log


def test_with_no_channel_configured_the_alert_is_logged(failure_context, monkeypatch, capfd):
    for name in ("ECOM_ALERT_WEBHOOK_URL", "ECOM_ALERT_SMTP_HOST", "ECOM_ALERT_EMAIL_TO"):
        monkeypatch.delenv(name, raising=False)
    run_failure_alert(failure_context)
    err = capfd.readouterr().err
    assert "nightly failed (2025-01-05)" in err and failure_context.dagster_run.run_id in err


def test_an_unreachable_webhook_is_logged_and_email_still_goes_out(failure_context, smtp, monkeypatch, capfd):
    port, mails = smtp
    monkeypatch.setenv("ECOM_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/closed")
    monkeypatch.setenv("ECOM_ALERT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ECOM_ALERT_SMTP_PORT", str(port))
    monkeypatch.setenv("ECOM_ALERT_EMAIL_TO", "oncall@shop.test")
    run_failure_alert(failure_context)
    assert len(mails) == 1
    assert "alert webhook failed" in capfd.readouterr().err


def _evaluate_on_success(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    (event,) = [
        e.dagster_event
        for e in instance.all_logs(run.run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_SUCCESS"
    ]
    failed_check_alert(
        dg.build_run_status_sensor_context(
            sensor_name="failed_check_alert", dagster_event=event, dagster_instance=instance, dagster_run=run
        )
    )


def test_a_green_run_with_a_day_without_files_is_alerted(project_env, store_landing, webhook, monkeypatch):
    """The nightly run of a day whose export never arrived succeeds (landing_received is non-blocking), so the
    run-failure alert never fires; this one does, naming the check, the day and the reason."""
    url, posts = webhook
    monkeypatch.setenv("ECOM_ALERT_WEBHOOK_URL", url)
    for name in ("ECOM_ALERT_SMTP_HOST", "ECOM_ALERT_EMAIL_TO"):
        monkeypatch.delenv(name, raising=False)
    assert main(["run", "--start", "2025-01-01", "--end", "2025-01-02"]) == 1  # 2025-01-02 received nothing
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        _evaluate_on_success(instance, run)
    ((_, _, payload),) = posts
    assert payload["text"] == "[ecommerce-pipeline] medallion_daily: check failed (bronze/orders:landing_received)"
    detail = payload["blocks"][0]["text"]["text"]
    assert "- bronze/orders:landing_received on 2025-01-02: no landing files at all for 2025-01-02 under" in detail
    assert run.run_id in detail

    # A run whose checks all pass sends nothing.
    posts.clear()
    assert main(["run", "--start", "2025-01-01"]) == 0
    with dg.DagsterInstance.get() as instance:
        latest = instance.get_runs(limit=1)[0]
        assert latest.run_id != run.run_id
        _evaluate_on_success(instance, latest)
    assert posts == []
