variable "workgroup_name" {
  description = "The Athena workgroup every pipeline query runs in (ECOM_ATHENA_WORKGROUP)."
  type        = string
}

variable "results_bucket_name" {
  description = "Bucket Athena writes query results to."
  type        = string
}

variable "results_prefix" {
  description = "Key prefix (no slashes) of the query results in the results bucket."
  type        = string
}

variable "kms_key_arn" {
  description = "Key Athena encrypts query results with (SSE-KMS)."
  type        = string
}

variable "bytes_scanned_cutoff" {
  description = "Athena cancels a query once it has scanned this many bytes (10 MB at least)."
  type        = number

  validation {
    condition     = var.bytes_scanned_cutoff >= 10485760
    error_message = "Athena's smallest per-query cutoff is 10 MB (10485760 bytes)."
  }
}
