variable "name_prefix" {
  description = "Prefix of the VPC, subnet, security group and log group names."
  type        = string
}

variable "cidr_block" {
  description = "Address range of the deployment's VPC (a /20 or larger: split into 16 subnets, 4 used)."
  type        = string
  default     = "10.42.0.0/20"
}

variable "kms_key_arn" {
  description = "Key encrypting the flow log group."
  type        = string
}

variable "log_retention_days" {
  description = "How long the VPC flow logs are kept."
  type        = number
}
