output "vpc_id" {
  description = "The deployment's VPC."
  value       = aws_vpc.this.id
}

output "task_subnet_ids" {
  description = "Public subnets of the Fargate tasks (egress only)."
  value       = aws_subnet.public[*].id
}

output "database_subnet_ids" {
  description = "Private subnets of the database (no route out of the VPC)."
  value       = aws_subnet.private[*].id
}

output "tasks_security_group_id" {
  description = "Security group of every task: nothing in; HTTPS and PostgreSQL out."
  value       = aws_security_group.tasks.id
}

output "database_security_group_id" {
  description = "Security group of the database: PostgreSQL from the tasks only."
  value       = aws_security_group.database.id
}
