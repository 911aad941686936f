# Named after the environment variables the pipeline reads (upper-cased): see "Deploy" in the README
# for the one-liner that writes them to an env file.

output "ecom_landing_uri" {
  description = "ECOM_LANDING_URI: where raw export files arrive."
  value       = "s3://${module.s3.bucket_names["landing"]}"
}

output "ecom_bronze_uri" {
  description = "ECOM_BRONZE_URI: bronze tables (and quarantine/ under it)."
  value       = "s3://${module.s3.bucket_names["bronze"]}"
}

output "ecom_silver_uri" {
  description = "ECOM_SILVER_URI: silver tables."
  value       = "s3://${module.s3.bucket_names["silver"]}"
}

output "ecom_gold_uri" {
  description = "ECOM_GOLD_URI: gold tables."
  value       = "s3://${module.s3.bucket_names["gold"]}"
}

output "ecom_glue_database" {
  description = "ECOM_GLUE_DATABASE: the Glue database tables and views are registered in."
  value       = module.glue.database_name
}

output "ecom_athena_workgroup" {
  description = "ECOM_ATHENA_WORKGROUP: the workgroup every query runs in."
  value       = module.athena.workgroup_name
}

output "ecom_athena_results_uri" {
  description = "ECOM_ATHENA_RESULTS_URI: where Athena writes query results (enforced by the workgroup)."
  value       = module.athena.results_uri
}

output "aws_region" {
  description = "AWS_REGION: the region of everything above."
  value       = var.aws_region
}

output "pipeline_role_arn" {
  description = "The role the pipeline runtime assumes (not an environment variable: give it to the runtime, e.g. as the ECS task role)."
  value       = module.iam.pipeline_role_arn
}

output "alerts_topic_arn" {
  description = "SNS topic of the alarms and budget alerts."
  value       = module.monitoring.alerts_topic_arn
}

output "pipeline_log_group" {
  description = "CloudWatch log group the runtime ships the pipeline's output to (failed runs are counted from it)."
  value       = module.monitoring.pipeline_log_group
}

output "ecr_repository_url" {
  description = "Where to push the image (docker push <url>:<image_tag>)."
  value       = module.ecr.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster of the webserver, the daemon and the run tasks."
  value       = module.ecs.cluster_name
}

output "ecs_service_names" {
  description = "ECS services of the webserver and the daemon."
  value       = module.ecs.service_names
}

output "ui_access_policy_arn" {
  description = "Attach to the operators' role: SSM port forwarding into the webserver task (the only way to the UI)."
  value       = module.ecs.ui_access_policy_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard: runs, failures, quarantined rows, Athena bytes scanned, estimated charges."
  value       = module.monitoring.dashboard_name
}
