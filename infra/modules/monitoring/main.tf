data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
}

resource "aws_sns_topic" "alerts" {
  name              = "${var.name_prefix}-alerts"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts.json
}

data "aws_iam_policy_document" "alerts" {
  statement {
    sid       = "AlarmsAndBudgetsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alert_emails)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}

# Every container of the deployment (webserver, daemon, each run task) writes here through the ECS awslogs
# driver (the execution role); the pipeline role itself never calls CloudWatch Logs. The metric filters below
# count failed runs, succeeded runs (the heartbeat) and quarantined rows from these lines.
resource "aws_cloudwatch_log_group" "pipeline" {
  name              = "/${var.name_prefix}/pipeline"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# A failed run shows up as Dagster's RUN_FAILURE event (daemon, webserver) or as the CLI's
# "Run <id> FAILED in <n>s" line.
resource "aws_cloudwatch_log_metric_filter" "failed_runs" {
  name           = "${var.name_prefix}-failed-runs"
  log_group_name = aws_cloudwatch_log_group.pipeline.name
  pattern        = "?\"RUN_FAILURE\" ?\"FAILED in\""

  metric_transformation {
    name          = "FailedRuns"
    namespace     = "EcommercePipeline"
    value         = "1"
    default_value = "0"
  }
}

# A run worker logs Dagster's RUN_SUCCESS event when a run succeeds; the heartbeat alarm watches this count.
resource "aws_cloudwatch_log_metric_filter" "succeeded_runs" {
  name           = "${var.name_prefix}-succeeded-runs"
  log_group_name = aws_cloudwatch_log_group.pipeline.name
  pattern        = "\"RUN_SUCCESS\""

  metric_transformation {
    name      = "SucceededRuns"
    namespace = "EcommercePipeline"
    value     = "1"
  }
}

# The bronze assets log "bronze/<entity> quarantined_rows <n>" once per table and run.
resource "aws_cloudwatch_log_metric_filter" "quarantined_rows" {
  name           = "${var.name_prefix}-quarantined-rows"
  log_group_name = aws_cloudwatch_log_group.pipeline.name
  pattern        = "[..., label = \"quarantined_rows\", rows]"

  metric_transformation {
    name      = "QuarantinedRows"
    namespace = "EcommercePipeline"
    value     = "$rows"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "failed_runs" {
  alarm_name          = "${var.name_prefix}-failed-runs"
  alarm_description   = "A pipeline run failed: see the run in the Dagster UI and the log group ${aws_cloudwatch_log_group.pipeline.name}."
  namespace           = "EcommercePipeline"
  metric_name         = aws_cloudwatch_log_metric_filter.failed_runs.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  # Any line in the group (the daemon logs as it ticks) gives a datapoint, 0 without a failure. Silence is not
  # read as healthy: the alarm goes to INSUFFICIENT_DATA, and the heartbeat alarm below (missing data
  # breaching) e-mails when the deployment stays silent.
  treat_missing_data = "missing"
  alarm_actions      = [aws_sns_topic.alerts.arn]
  ok_actions         = [aws_sns_topic.alerts.arn]
}

# The heartbeat: no run succeeded in the last 36 hours (the nightly run was missed, failed, or nothing runs
# at all). Missing data breaches: a dead daemon writes no lines, so it reads as unhealthy, never as fine.
resource "aws_cloudwatch_metric_alarm" "no_successful_run" {
  alarm_name          = "${var.name_prefix}-no-successful-run-36h"
  alarm_description   = "No pipeline run succeeded in 36 hours: check the daemon service, the schedule and the last runs in the Dagster UI; logs in ${aws_cloudwatch_log_group.pipeline.name}."
  namespace           = "EcommercePipeline"
  metric_name         = aws_cloudwatch_log_metric_filter.succeeded_runs.metric_transformation[0].name
  statistic           = "Sum"
  period              = 3600 # hourly: 36 periods of an hour (evaluation beyond a day needs periods of 1 h or more)
  evaluation_periods  = 36
  datapoints_to_alarm = 36
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

resource "aws_cloudwatch_metric_alarm" "athena_bytes_scanned" {
  alarm_name          = "${var.name_prefix}-athena-bytes-scanned"
  alarm_description   = "Athena workgroup ${var.athena_workgroup_name} scanned more than ${var.athena_daily_bytes_alarm} bytes in a day: look for queries without a partition filter."
  namespace           = "AWS/Athena"
  metric_name         = "ProcessedBytes"
  dimensions          = { WorkGroup = var.athena_workgroup_name }
  statistic           = "Sum"
  period              = 86400
  evaluation_periods  = 1
  threshold           = var.athena_daily_bytes_alarm
  comparison_operator = "GreaterThanThreshold"
  # No data means Athena scanned nothing that day, which is within budget.
  treat_missing_data = "notBreaching"
  alarm_actions      = [aws_sns_topic.alerts.arn]
}

# Cost allocation tags must be activated before Budgets and Cost Explorer can filter on them; every resource
# carries project = <var.project_tag> (the provider's default_tags). AWS only knows a tag key once it has
# appeared in billing data (up to a day after the first tagged resource), so on a new account the first
# apply runs with activate_cost_allocation_tag = false and a later one turns it on.
resource "aws_ce_cost_allocation_tag" "project" {
  count = var.activate_cost_allocation_tag ? 1 : 0

  tag_key = "project"
  status  = "Active"
}

resource "aws_budgets_budget" "monthly" {
  name         = "${var.name_prefix}-monthly"
  budget_type  = "COST"
  limit_amount = format("%.2f", var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  # This project's resources only, not the whole account.
  cost_filter {
    name   = "TagKeyValue"
    values = ["user:project$${var.project_tag}"]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 80
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_sns_topic_arns  = [aws_sns_topic.alerts.arn]
    subscriber_email_addresses = var.alert_emails
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_sns_topic_arns  = [aws_sns_topic.alerts.arn]
    subscriber_email_addresses = var.alert_emails
  }
}

# One page for the operator: runs, failures, quarantined rows, Athena bytes scanned and the estimated bill.
resource "aws_cloudwatch_dashboard" "pipeline" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title   = "Runs: succeeded and failed (per day)"
          region  = var.region
          stat    = "Sum"
          period  = 86400
          view    = "timeSeries"
          stacked = false
          metrics = [
            ["EcommercePipeline", "SucceededRuns", { label = "succeeded" }],
            ["EcommercePipeline", "FailedRuns", { label = "failed", color = "#d62728" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "Quarantined rows (bronze, per day)"
          region  = var.region
          stat    = "Sum"
          period  = 86400
          view    = "timeSeries"
          metrics = [["EcommercePipeline", "QuarantinedRows", { label = "quarantined rows" }]]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title   = "Athena bytes scanned (workgroup ${var.athena_workgroup_name}, per day)"
          region  = var.region
          stat    = "Sum"
          period  = 86400
          view    = "timeSeries"
          metrics = [["AWS/Athena", "ProcessedBytes", "WorkGroup", var.athena_workgroup_name, { label = "bytes scanned" }]]
          annotations = {
            horizontal = [{ label = "daily alarm", value = var.athena_daily_bytes_alarm }]
          }
        }
      },
      {
        # Billing metrics exist only in us-east-1, for the whole account ("Receive Billing Alerts" must be on);
        # the budget below is the per-project figure.
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title   = "Estimated charges this month (account, USD)"
          region  = "us-east-1"
          stat    = "Maximum"
          period  = 21600
          view    = "timeSeries"
          metrics = [["AWS/Billing", "EstimatedCharges", "Currency", "USD", { label = "estimated charges" }]]
          annotations = {
            horizontal = [{ label = "project budget", value = var.monthly_budget_usd }]
          }
        }
      },
      {
        type = "alarm", x = 0, y = 12, width = 24, height = 3
        properties = {
          title = "Alarms"
          alarms = [
            aws_cloudwatch_metric_alarm.no_successful_run.arn,
            aws_cloudwatch_metric_alarm.failed_runs.arn,
            aws_cloudwatch_metric_alarm.athena_bytes_scanned.arn,
          ]
        }
      },
    ]
  })
}
