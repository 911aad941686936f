output "database_name" {
  description = "The Glue database (ECOM_GLUE_DATABASE)."
  value       = aws_glue_catalog_database.analytics.name
}

output "database_arn" {
  description = "ARN of the Glue database."
  value       = aws_glue_catalog_database.analytics.arn
}

output "crawler_names" {
  description = "Disaster-recovery crawlers, one per table prefix; run them only to rebuild a lost catalog."
  value       = { for target, crawler in aws_glue_crawler.recovery : target => crawler.name }
}
