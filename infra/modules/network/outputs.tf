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

output "database_cidr_blocks" {
  description = "Address ranges of the database subnets (the tasks' PostgreSQL egress)."
  value       = aws_subnet.private[*].cidr_block
}
