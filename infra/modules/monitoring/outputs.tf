output "alerts_topic_arn" {
  description = "SNS topic receiving the alarms and the budget alerts."
  value       = aws_sns_topic.alerts.arn
}

output "pipeline_log_group" {
  description = "Log group the runtime ships the pipeline's output to."
  value       = aws_cloudwatch_log_group.pipeline.name
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the pipeline."
  value       = aws_cloudwatch_dashboard.pipeline.dashboard_name
}

output "alarm_names" {
  description = "The alarms that notify the alerts topic."
  value = [
    aws_cloudwatch_metric_alarm.no_successful_run.alarm_name,
    aws_cloudwatch_metric_alarm.failed_runs.alarm_name,
    aws_cloudwatch_metric_alarm.athena_bytes_scanned.alarm_name,
  ]
}
