output "cluster_name" {
  description = "The ECS cluster of the webserver, the daemon and the runs."
  value       = aws_ecs_cluster.this.name
}

output "service_names" {
  description = "The ECS services: webserver and daemon."
  value       = { for name, service in aws_ecs_service.this : name => service.name }
}

output "task_definition_families" {
  description = "Task definition family of the webserver, the daemon and the runs."
  value       = merge({ run = aws_ecs_task_definition.run.family }, { for name, definition in aws_ecs_task_definition.service : name => definition.family })
}

output "orchestrator_role_arn" {
  description = "Role of the webserver and daemon tasks."
  value       = aws_iam_role.orchestrator.arn
}

output "ui_access_policy_arn" {
  description = "Managed policy to attach to operators: SSM port forwarding into the webserver (the UI's only way in)."
  value       = aws_iam_policy.ui_access.arn
}

output "tasks_security_group_id" {
  description = "Security group of every task: nothing in; HTTPS and PostgreSQL out."
  value       = aws_security_group.tasks.id
}
