variable "name_prefix" {
  description = "Prefix of the database, secret and parameter group names."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two zones) the database lives in."
  type        = list(string)
}

variable "vpc_id" {
  description = "VPC of the database's security group."
  type        = string
}

variable "tasks_security_group_id" {
  description = "Security group of the deployment's tasks, the only clients PostgreSQL admits."
  type        = string
}

variable "kms_key_arn" {
  description = "Key encrypting the storage, the backups and the password secret."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL major version (minor versions are upgraded automatically)."
  type        = string
  default     = "16"
}

variable "instance_class" {
  description = "RDS instance class; the instance database is small (metadata only)."
  type        = string
  default     = "db.t4g.micro"
}

variable "multi_az" {
  description = "A standby in a second zone (prod); a single zone restores from the daily backups instead."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 7
}
