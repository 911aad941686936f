"""Failure alerts: a failed run, or a run that finished with a failed check of severity ERROR (a day with no
landing file at all, a gold schema violation: non-blocking checks let the run succeed), is posted to a
Slack-compatible webhook and/or e-mailed through SMTP.

Configured through ``ECOM_ALERT_*`` (see the README); with no channel configured the alert is only logged,
so a laptop without a mail server still sees failures in the sensor's log.
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage

import dagster as dg

from ecommerce_pipeline.defs.errors import describe_failure
from ecommerce_pipeline.defs.metadata import first_few
from ecommerce_pipeline.settings import AlertSettings, load_alert_settings


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str

    def slack_payload(self) -> dict:
        return {
            "text": self.subject,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{self.subject}*\n{self.body}"}}],
        }


def failure_alert(context: dg.RunFailureSensorContext, ui_url: str) -> Alert:
    run = context.dagster_run
    partition = run.tags.get("dagster/partition") or "..".join(
        t
        for t in (
            run.tags.get("dagster/asset_partition_range_start"),
            run.tags.get("dagster/asset_partition_range_end"),
        )
        if t
    )
    step_failures = [e for e in context.get_step_failure_events() if e.step_key]
    failed_steps = sorted({e.step_key for e in step_failures})
    lines = [
        f"Run `{run.run_id}` of `{run.job_name}` failed" + (f" for {partition}" if partition else "") + ".",
        f"Error: {context.failure_event.message or 'no message'}",
    ]
    if failed_steps:
        lines.append(f"Failed steps: {', '.join(failed_steps)}")
    # What went wrong in each step (the exception and where), not only Dagster's retry wrapper.
    for event in step_failures:
        lines.append(f"Root cause: {describe_failure(event.step_key, event.step_failure_data.error)}")
    lines.append(f"{ui_url}/runs/{run.run_id}")
    return Alert(
        subject=f"[ecommerce-pipeline] {run.job_name} failed" + (f" ({partition})" if partition else ""),
        body="\n".join(lines),
    )


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetCheckEvaluation]:
    """The run's failed check evaluations of severity ERROR (WARN means the check could not verify)."""
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluations = [r.dagster_event.event_specific_data for r in records if r.dagster_event]
    return [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]


def failed_checks_alert(run: dg.DagsterRun, failed: list[dg.AssetCheckEvaluation], ui_url: str) -> Alert:
    """One alert per run: each failed check once, with the days it failed on and what it says."""
    by_check: dict[str, list] = {}
    for evaluation in failed:
        by_check.setdefault(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}", []).append(evaluation)
    lines = [f"Run `{run.run_id}` of `{run.job_name}` succeeded, but {len(by_check)} check(s) failed:"]
    for name, evaluations in sorted(by_check.items()):
        days = sorted(e.partition for e in evaluations if e.partition)
        reasons = {str(e.metadata["reason"].value) for e in evaluations if "reason" in e.metadata}
        on = f" on {first_few(days)}" if days else ""
        lines.append(f"- {name}{on}" + (f": {'; '.join(sorted(reasons))}" if reasons else ""))
    lines.append(f"{ui_url}/runs/{run.run_id}")
    return Alert(
        subject=f"[ecommerce-pipeline] {run.job_name}: check failed ({', '.join(sorted(by_check))})",
        body="\n".join(lines),
    )


def post_webhook(url: str, alert: Alert, timeout: float = 10.0) -> int:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"ECOM_ALERT_WEBHOOK_URL must be an http(s) URL, not {url!r}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=json.dumps(alert.slack_payload()).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # The scheme is checked above, so file:// and custom schemes never reach urlopen.
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
        return response.status


def send_email(settings: AlertSettings, alert: Alert, timeout: float = 10.0) -> None:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = settings.email_from
    message["To"] = ", ".join(settings.email_to)
    message.set_content(alert.body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


def deliver(alert: Alert, settings: AlertSettings, log) -> list[str]:
    """Sends the alert on every configured channel; one failing channel does not stop the others."""
    delivered = []
    if settings.webhook_url:
        try:
            post_webhook(settings.webhook_url, alert)
            delivered.append("webhook")
        except (OSError, ValueError) as exc:
            log.error(f"alert webhook failed: {exc}")
    if settings.smtp_host and settings.email_to:
        try:
            send_email(settings, alert)
            delivered.append("email")
        except (OSError, smtplib.SMTPException) as exc:
            log.error(f"alert e-mail failed: {exc}")
    if not delivered:
        log.warning(f"{alert.subject}\n{alert.body}")
    return delivered


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts failed runs to ECOM_ALERT_WEBHOOK_URL (Slack-compatible) and/or e-mails ECOM_ALERT_EMAIL_TO.",
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    settings = load_alert_settings()
    deliver(failure_alert(context, settings.ui_url), settings, context.log)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="failed_check_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
    description=(
        "Alerts on a run that succeeded with a failed check of severity ERROR (a day with no landing file at "
        "all, a gold schema violation), on the same channels as failed runs."
    ),
)
def failed_check_alert(context: dg.RunStatusSensorContext) -> None:
    failed = failed_checks(context.instance, context.dagster_run.run_id)
    if failed:
        settings = load_alert_settings()
        deliver(failed_checks_alert(context.dagster_run, failed, settings.ui_url), settings, context.log)
