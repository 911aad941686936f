locals {
  name_prefix = "${var.project}-${var.environment}"
  # Athena writes results under this prefix of the results bucket; the role may touch nothing else there.
  athena_results_prefix = "results"
  lake_layers           = ["bronze", "silver", "gold"]

  # The environment of every ECS task: the variables ecommerce_pipeline/settings.py reads, with the same
  # values as the outputs of the same name (test_infra.py checks both against settings.py and each other).
  pipeline_environment = {
    ECOM_ENV                = "aws"
    ECOM_LANDING_URI        = "s3://${module.s3.bucket_names["landing"]}"
    ECOM_BRONZE_URI         = "s3://${module.s3.bucket_names["bronze"]}"
    ECOM_SILVER_URI         = "s3://${module.s3.bucket_names["silver"]}"
    ECOM_GOLD_URI           = "s3://${module.s3.bucket_names["gold"]}"
    ECOM_GLUE_DATABASE      = module.glue.database_name
    ECOM_ATHENA_WORKGROUP   = module.athena.workgroup_name
    ECOM_ATHENA_RESULTS_URI = module.athena.results_uri
    AWS_REGION              = var.aws_region
    ECOM_START_DATE         = var.start_date
    ECOM_GOLD_ENGINE        = var.gold_engine
    # Alert links point at the UI as an operator sees it: through the SSM port forward on their machine.
    ECOM_ALERT_UI_URL = "http://127.0.0.1:3000"
  }
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

  name_prefix                  = local.name_prefix
  kms_key_arn                  = module.s3.kms_key_arn
  athena_workgroup_name        = module.athena.workgroup_name
  athena_daily_bytes_alarm     = var.athena_daily_bytes_alarm
  monthly_budget_usd           = var.monthly_budget_usd
  alert_emails                 = var.alert_emails
  log_retention_days           = var.log_retention_days
  project_tag                  = var.project
  activate_cost_allocation_tag = var.activate_cost_allocation_tag
  region                       = var.aws_region
}

# --- the orchestrator on ECS Fargate: image, network, instance database, webserver and daemon -----------------

module "ecr" {
  source = "./modules/ecr"

  name        = local.name_prefix
  kms_key_arn = module.s3.kms_key_arn
}

module "network" {
  source = "./modules/network"

  name_prefix        = local.name_prefix
  kms_key_arn        = module.s3.kms_key_arn
  log_retention_days = var.log_retention_days
}

module "rds" {
  source = "./modules/rds"

  name_prefix             = local.name_prefix
  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.database_subnet_ids
  tasks_security_group_id = module.ecs.tasks_security_group_id
  kms_key_arn             = module.s3.kms_key_arn
  instance_class          = var.db_instance_class
  multi_az                = var.db_multi_az
}

module "ecs" {
  source = "./modules/ecs"

  name_prefix          = local.name_prefix
  repository_url       = module.ecr.repository_url
  repository_arn       = module.ecr.repository_arn
  image_tag            = var.image_tag
  pipeline_environment = merge(var.pipeline_extra_environment, local.pipeline_environment)
  database = {
    host                = module.rds.address
    port                = module.rds.port
    db_name             = module.rds.db_name
    username            = module.rds.username
    password_secret_arn = module.rds.password_secret_arn
  }
  compute_logs_bucket_name = module.s3.dagster_bucket_name
  compute_logs_bucket_arn  = module.s3.dagster_bucket_arn
  landing_bucket_arn       = module.s3.bucket_arns["landing"]
  pipeline_role_arn        = module.iam.pipeline_role_arn
  pipeline_role_name       = module.iam.pipeline_role_name
  kms_key_arn              = module.s3.kms_key_arn
  log_group_name           = module.monitoring.pipeline_log_group
  log_retention_days       = var.log_retention_days
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.task_subnet_ids
  database_cidr_blocks     = module.network.database_cidr_blocks
  smtp_port                = var.alert_smtp_port
  run_size                 = var.run_task_size
}
