variable "name_prefix" {
  description = "Prefix of bucket and key names, e.g. ecommerce-pipeline-dev."
  type        = string
}

variable "log_retention_days" {
  description = "How long S3 access logs are kept."
  type        = number
  default     = 365
}
