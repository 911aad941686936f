output "workgroup_name" {
  description = "The workgroup (ECOM_ATHENA_WORKGROUP)."
  value       = aws_athena_workgroup.pipeline.name
}

output "workgroup_arn" {
  description = "ARN of the workgroup, for IAM."
  value       = aws_athena_workgroup.pipeline.arn
}

output "results_uri" {
  description = "Where the workgroup writes query results (ECOM_ATHENA_RESULTS_URI)."
  value       = local.results_uri
}
