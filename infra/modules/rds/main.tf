# The Dagster instance's database: runs, event logs, schedules and sensor cursors (deploy/aws/dagster.yaml).
# PostgreSQL on RDS, encrypted with the project key, in private subnets with no route out, reachable only from
# the deployment's tasks, TLS only; the password lives in Secrets Manager and reaches the tasks as a secret.

resource "random_password" "master" {
  length  = 40
  special = false # the password travels in a connection URL
}

resource "aws_secretsmanager_secret" "master" {
  #checkov:skip=CKV2_AWS_57:The tasks read the password once at start and the instance reconnects with it, so an automatic rotation would lock out running tasks; rotate by hand as infra/README.md describes.
  name                    = "${var.name_prefix}/dagster-db-password"
  description             = "Password of the Dagster instance database user (DAGSTER_PG_PASSWORD)."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "master" {
  secret_id     = aws_secretsmanager_secret.master.id
  secret_string = random_password.master.result
}

resource "aws_security_group" "database" {
  name        = "${var.name_prefix}-database"
  description = "The Dagster instance database: PostgreSQL from the deployment's tasks only."
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_tasks" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the webserver, daemon and run tasks."
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.tasks_security_group_id
}

resource "aws_db_subnet_group" "this" {
  name        = "${var.name_prefix}-dagster"
  description = "Private subnets of the Dagster instance database."
  subnet_ids  = var.subnet_ids
}

resource "aws_db_parameter_group" "this" {
  name        = "${var.name_prefix}-dagster-pg16"
  family      = "postgres16"
  description = "TLS only; DDL and slow statements logged."

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is a variable: prod.tfvars turns it on; dev keeps one zone and restores from the daily backups, which halves the database cost.
  #checkov:skip=CKV_AWS_353:Performance Insights is not offered on the db.t4g.micro class this small metadata database uses.
  #checkov:skip=CKV_AWS_354:No Performance Insights (see CKV_AWS_353), so there is nothing for its key to encrypt.
  identifier     = "${var.name_prefix}-dagster"
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name  = "dagster"
  username = "dagster"
  password = random_password.master.result
  port     = 5432

  allocated_storage     = 20
  max_allocated_storage = 100
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  multi_az               = var.multi_az
  parameter_group_name   = aws_db_parameter_group.this.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  backup_retention_period             = var.backup_retention_days
  copy_tags_to_snapshot               = true
  deletion_protection                 = true
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name_prefix}-dagster-final"
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  monitoring_interval                 = 60
  monitoring_role_arn                 = aws_iam_role.monitoring.arn
}

resource "aws_iam_role" "monitoring" {
  name               = "${var.name_prefix}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_trust.json
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "monitoring_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}
