variable "name_prefix" {
  description = "Prefix of the topic, log group, alarm and budget names."
  type        = string
}

variable "kms_key_arn" {
  description = "Key encrypting the alerts topic and the pipeline log group."
  type        = string
}

variable "athena_workgroup_name" {
  description = "Workgroup whose scanned bytes are watched."
  type        = string
}

variable "athena_daily_bytes_alarm" {
  description = "Alarm when the workgroup scans more than this many bytes in a day."
  type        = number
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget in US dollars; alerts at 80% forecast and 100% actual."
  type        = number
}

variable "alert_emails" {
  description = "E-mail addresses subscribed to the alerts topic and the budget."
  type        = list(string)
}

variable "log_retention_days" {
  description = "How long the pipeline's logs are kept."
  type        = number
}

variable "project_tag" {
  description = "Value of the project cost allocation tag the budget is filtered to."
  type        = string
}

variable "region" {
  description = "Region of the pipeline's metrics, for the dashboard."
  type        = string
}

variable "activate_cost_allocation_tag" {
  description = "Activate the project tag for cost allocation (possible once the tag appears in billing data, about a day after the first apply)."
  type        = bool
}
