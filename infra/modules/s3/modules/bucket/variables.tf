variable "name" {
  description = "Bucket name."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed key for default SSE-KMS encryption."
  type        = string
}

variable "log_bucket" {
  description = "Bucket receiving this bucket's server access logs."
  type        = string
}

variable "log_prefix" {
  description = "Key prefix of this bucket's access logs in the log bucket."
  type        = string
}

variable "transitions" {
  description = "Storage-class transitions of current versions, in days after creation."
  type = list(object({
    days          = number
    storage_class = string
  }))
  default = []
}

variable "expire_days" {
  description = "Days after which current versions expire; 0 keeps them."
  type        = number
  default     = 0
}

variable "noncurrent_version_expire_days" {
  description = "Days after which replaced or deleted versions are removed."
  type        = number
  default     = 30
}

variable "expire_prefixes" {
  description = "Key prefix => days after which current versions under it expire (sooner than expire_days)."
  type        = map(number)
  default     = {}
}
