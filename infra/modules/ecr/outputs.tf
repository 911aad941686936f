output "repository_url" {
  description = "Where `docker push` sends the image: <account>.dkr.ecr.<region>.amazonaws.com/<name>."
  value       = aws_ecr_repository.this.repository_url
}

output "repository_arn" {
  description = "ARN of the repository, for the execution role's pull permission."
  value       = aws_ecr_repository.this.arn
}
