output "bucket_names" {
  description = "Bucket name per layer: landing, bronze, silver, gold, athena-results."
  value       = { for layer, bucket in module.bucket : layer => bucket.id }
}

output "bucket_arns" {
  description = "Bucket ARN per layer."
  value       = { for layer, bucket in module.bucket : layer => bucket.arn }
}

output "log_bucket_name" {
  description = "Bucket receiving the S3 server access logs of every data bucket."
  value       = aws_s3_bucket.logs.id
}

output "kms_key_arn" {
  description = "Customer-managed key encrypting the buckets, Athena results, logs and the alerts topic."
  value       = aws_kms_key.data.arn
}

output "dagster_bucket_name" {
  description = "Bucket of the Dagster instance's step logs."
  value       = module.dagster.id
}

output "dagster_bucket_arn" {
  description = "ARN of the step logs bucket."
  value       = module.dagster.arn
}
