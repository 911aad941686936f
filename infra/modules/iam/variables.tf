variable "name_prefix" {
  description = "Prefix of the role name."
  type        = string
}

variable "bucket_arns" {
  description = "Bucket ARN per layer: landing, bronze, silver, gold, athena-results."
  type        = map(string)
}

variable "athena_results_prefix" {
  description = "Key prefix (no slashes) under which the workgroup writes query results."
  type        = string
}

variable "glue_database_name" {
  description = "The Glue database the pipeline registers tables and views in."
  type        = string
}

variable "athena_workgroup_arn" {
  description = "The workgroup the pipeline submits queries to."
  type        = string
}

variable "kms_key_arn" {
  description = "Key encrypting the buckets and the Athena results."
  type        = string
}

variable "trusted_services" {
  description = "AWS services allowed to assume the role."
  type        = list(string)
}

variable "trusted_principal_arns" {
  description = "IAM principals allowed to assume the role."
  type        = list(string)
}
