variable "name_prefix" {
  description = "Prefix of the crawler, role and security configuration names."
  type        = string
}

variable "database_name" {
  description = "Glue database the pipeline registers its tables in (underscores only)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]*$", var.database_name))
    error_message = "database_name must be lower case letters, digits and underscores: hyphens break Athena identifiers."
  }
}

variable "lake_bucket_names" {
  description = "Bucket name of each lake layer the crawler can rebuild: bronze, silver, gold."
  type        = map(string)
}

variable "kms_key_arn" {
  description = "Key encrypting the lake objects and the crawler's logs."
  type        = string
}

variable "log_retention_days" {
  description = "How long the crawler's CloudWatch logs are kept."
  type        = number
  default     = 365
}
