output "alerts_topic_arn" {
  description = "SNS topic receiving the alarms and the budget alerts."
  value       = aws_sns_topic.alerts.arn
}

output "pipeline_log_group" {
  description = "Log group the runtime ships the pipeline's output to."
  value       = aws_cloudwatch_log_group.pipeline.name
}
