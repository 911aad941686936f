output "pipeline_role_arn" {
  description = "The role the pipeline runtime runs as."
  value       = aws_iam_role.pipeline.arn
}

output "pipeline_role_name" {
  description = "Name of the pipeline role."
  value       = aws_iam_role.pipeline.name
}
