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

# The runtime ships the pipeline's stdout here (for example the ECS awslogs driver with the task's
# execution role); the pipeline role itself never calls CloudWatch Logs.
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
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
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
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
}

resource "aws_budgets_budget" "monthly" {
  name         = "${var.name_prefix}-monthly"
  budget_type  = "COST"
  limit_amount = format("%.2f", var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

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
