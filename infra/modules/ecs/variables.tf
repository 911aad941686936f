variable "name_prefix" {
  description = "Prefix of the cluster, task definition, role and log group names."
  type        = string
}

variable "repository_url" {
  description = "ECR repository of the image."
  type        = string
}

variable "repository_arn" {
  description = "ARN of the ECR repository, for the execution role."
  type        = string
}

variable "image_tag" {
  description = "Tag of the image every task runs (immutable tags: one tag, one build)."
  type        = string
}

variable "pipeline_environment" {
  description = "The pipeline's environment variables (ECOM_*, AWS_REGION), generated in infra/main.tf from the variables settings.py reads."
  type        = map(string)
}

variable "database" {
  description = "The Dagster instance database: host, port, db_name, username and the password's secret ARN."
  type = object({
    host                = string
    port                = number
    db_name             = string
    username            = string
    password_secret_arn = string
  })
}

variable "compute_logs_bucket_name" {
  description = "Bucket of the step logs (S3ComputeLogManager, DAGSTER_COMPUTE_LOGS_BUCKET)."
  type        = string
}

variable "compute_logs_bucket_arn" {
  description = "ARN of the step logs bucket."
  type        = string
}

variable "landing_bucket_arn" {
  description = "The landing bucket the arrival sensor lists."
  type        = string
}

variable "pipeline_role_arn" {
  description = "The role of every run task (the pipeline role)."
  type        = string
}

variable "pipeline_role_name" {
  description = "Name of the pipeline role, to attach the run worker's instance permissions."
  type        = string
}

variable "kms_key_arn" {
  description = "The project key (images, logs, secret, step logs, ECS Exec sessions)."
  type        = string
}

variable "log_group_name" {
  description = "Log group every container writes to: the one the failed-run metric filter watches."
  type        = string
}

variable "log_retention_days" {
  description = "How long the ECS Exec session logs are kept."
  type        = number
}

variable "subnet_ids" {
  description = "Subnets of the tasks."
  type        = list(string)
}

variable "vpc_id" {
  description = "VPC of the tasks' security group."
  type        = string
}

variable "database_cidr_blocks" {
  description = "Address ranges of the database subnets, the tasks' only non-HTTPS destination."
  type        = list(string)
}

variable "smtp_port" {
  description = "Port of the SMTP server failure e-mails go to (ECOM_ALERT_SMTP_PORT); 0 opens none."
  type        = number
  default     = 0
}

variable "webserver_size" {
  description = "Fargate CPU units and memory (MiB) of the webserver task."
  type        = object({ cpu = number, memory = number })
  default     = { cpu = 256, memory = 2048 }
}

variable "daemon_size" {
  description = "Fargate CPU units and memory (MiB) of the daemon task (it evaluates the sensors and schedules)."
  type        = object({ cpu = number, memory = number })
  default     = { cpu = 256, memory = 2048 }
}

variable "run_size" {
  description = "Fargate CPU units and memory (MiB) of each run task: one business day of every layer (see the README's Performance section)."
  type        = object({ cpu = number, memory = number })
  default     = { cpu = 2048, memory = 8192 }
}
