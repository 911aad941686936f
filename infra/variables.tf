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
  description = "Addresses subscribed to the alerts topic and the budget (each must confirm the subscription e-mail)."
  type        = list(string)

  validation {
    condition     = length(var.alert_emails) > 0
    error_message = "Give at least one alert e-mail address: alarms that notify nobody are not monitoring."
  }
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

variable "image_tag" {
  description = "Tag of the image in the ECR repository that every task runs (push it before applying; see the README's Deploy to production)."
  type        = string
}

variable "start_date" {
  description = "First daily partition (ECOM_START_DATE)."
  type        = string
  default     = "2025-01-01"
}

variable "gold_engine" {
  description = "Engine of the whole-history gold tables (ECOM_GOLD_ENGINE): local or athena."
  type        = string
  default     = "local"

  validation {
    condition     = contains(["local", "athena"], var.gold_engine)
    error_message = "gold_engine must be local or athena."
  }
}

variable "pipeline_extra_environment" {
  description = "More of the pipeline's variables for every task, e.g. ECOM_ALERT_WEBHOOK_URL or ECOM_DEFAULT_CURRENCY (see the README's Configuration table)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.pipeline_extra_environment) : can(regex("^ECOM_[A-Z_]+$", name))])
    error_message = "Only ECOM_* variables; the AWS ones are set from the other modules."
  }
}

variable "alert_smtp_port" {
  description = "Port of the SMTP server in ECOM_ALERT_SMTP_HOST that the tasks may reach (0: no failure e-mails from Dagster; the CloudWatch alarms e-mail anyway)."
  type        = number
  default     = 0
}

variable "db_instance_class" {
  description = "RDS class of the Dagster instance database."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_multi_az" {
  description = "Keep a standby of the instance database in a second zone."
  type        = bool
  default     = false
}

variable "run_task_size" {
  description = "Fargate CPU units and memory (MiB) of each run task."
  type        = object({ cpu = number, memory = number })
  default     = { cpu = 2048, memory = 8192 }
}

variable "activate_cost_allocation_tag" {
  description = "Activate the project cost allocation tag the budget filters on. AWS accepts it only once the tag appears in billing data: apply with false on a new account, then with true a day later."
  type        = bool
  default     = true
}
