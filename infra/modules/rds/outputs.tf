output "address" {
  description = "Host name of the database (DAGSTER_PG_HOST)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database (DAGSTER_PG_PORT)."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Database name (DAGSTER_PG_DB)."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "Database user (DAGSTER_PG_USER)."
  value       = aws_db_instance.this.username
}

output "password_secret_arn" {
  description = "Secrets Manager secret holding the password (DAGSTER_PG_PASSWORD, injected by ECS)."
  value       = aws_secretsmanager_secret.master.arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.database.id
}
