variable "project" {
  description = "Prefix of every resource name."
  type        = string
  default     = "ecommerce-pipeline"
}

variable "environment" {
  description = "Deployment environment: dev or prod."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "aws_region" {
  description = "Region of the buckets, the Glue catalog and the Athena workgroup (exported as AWS_REGION)."
  type        = string
}

variable "glue_database_name" {
  description = "Glue database the pipeline registers its tables in (ECOM_GLUE_DATABASE)."
  type        = string

  validation {
    # Hyphens break unquoted Athena identifiers, which is how the query library names tables.
    condition     = can(regex("^[a-z][a-z0-9_]*$", var.glue_database_name))
    error_message = "glue_database_name must be lower case letters, digits and underscores."
  }
}

variable "athena_bytes_scanned_cutoff" {
  description = "Athena cancels any query of the workgroup that would scan more than this many bytes (at least 10 MB)."
  type        = number
}

variable "monthly_budget_usd" {
  description = "AWS Budgets alert threshold for the month, in US dollars."
  type        = number
  default     = 4
}

variable "athena_daily_bytes_alarm" {
  description = "Alarm when the workgroup scans more than this many bytes in a day."
  type        = number
}

variable "alert_emails" {
  description = "Addresses subscribed to the alerts topic (each must confirm the subscription e-mail)."
  type        = list(string)
  default     = []
}

variable "pipeline_trusted_services" {
  description = "AWS services allowed to assume the pipeline role (the runtime that runs Dagster)."
  type        = list(string)
  default     = ["ecs-tasks.amazonaws.com"]
}

variable "pipeline_trusted_principal_arns" {
  description = "IAM roles or users allowed to assume the pipeline role (for example an operator's SSO role)."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "How long the pipeline's CloudWatch logs are kept."
  type        = number
  default     = 365
}
