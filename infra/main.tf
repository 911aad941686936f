locals {
  name_prefix = "${var.project}-${var.environment}"
  # Athena writes results under this prefix of the results bucket; the role may touch nothing else there.
  athena_results_prefix = "results"
  lake_layers           = ["bronze", "silver", "gold"]
}

module "s3" {
  source = "./modules/s3"

  name_prefix        = local.name_prefix
  log_retention_days = var.log_retention_days
}

module "glue" {
  source = "./modules/glue"

  name_prefix        = local.name_prefix
  database_name      = var.glue_database_name
  lake_bucket_names  = { for layer in local.lake_layers : layer => module.s3.bucket_names[layer] }
  kms_key_arn        = module.s3.kms_key_arn
  log_retention_days = var.log_retention_days
}

module "athena" {
  source = "./modules/athena"

  workgroup_name       = "${local.name_prefix}-pipeline"
  results_bucket_name  = module.s3.bucket_names["athena-results"]
  results_prefix       = local.athena_results_prefix
  kms_key_arn          = module.s3.kms_key_arn
  bytes_scanned_cutoff = var.athena_bytes_scanned_cutoff
}

module "iam" {
  source = "./modules/iam"

  name_prefix            = local.name_prefix
  bucket_arns            = module.s3.bucket_arns
  athena_results_prefix  = local.athena_results_prefix
  glue_database_name     = module.glue.database_name
  athena_workgroup_arn   = module.athena.workgroup_arn
  kms_key_arn            = module.s3.kms_key_arn
  trusted_services       = var.pipeline_trusted_services
  trusted_principal_arns = var.pipeline_trusted_principal_arns
}

module "monitoring" {
  source = "./modules/monitoring"

  name_prefix              = local.name_prefix
  kms_key_arn              = module.s3.kms_key_arn
  athena_workgroup_name    = module.athena.workgroup_name
  athena_daily_bytes_alarm = var.athena_daily_bytes_alarm
  monthly_budget_usd       = var.monthly_budget_usd
  alert_emails             = var.alert_emails
  log_retention_days       = var.log_retention_days
}
