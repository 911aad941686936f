data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  # The pipeline names Glue tables <layer>_<table> and keeps quarantine tables under the bronze
  # bucket's quarantine/ prefix (tables quarantine_<table>); a crawler's table prefix reproduces that.
  recovery_targets = {
    bronze     = { path = "s3://${var.lake_bucket_names["bronze"]}/", exclusions = ["quarantine/**"] }
    silver     = { path = "s3://${var.lake_bucket_names["silver"]}/", exclusions = [] }
    gold       = { path = "s3://${var.lake_bucket_names["gold"]}/", exclusions = [] }
    quarantine = { path = "s3://${var.lake_bucket_names["bronze"]}/quarantine/", exclusions = [] }
  }
}

resource "aws_glue_catalog_database" "analytics" {
  name        = var.database_name
  description = "ecommerce-pipeline lake tables (<layer>_<table>) and the analytics_* views; registered by the pipeline."
}

resource "aws_glue_security_configuration" "crawler" {
  name = "${var.name_prefix}-crawler"

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }
    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }
    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

# Disaster recovery only: the pipeline registers every table and partition itself (additive schema,
# explicit types). If the catalog is lost, running these crawlers rebuilds the tables from the Hive
# layout on S3. There is no schedule, and existing tables are left alone (LOG) so a crawl can never
# overwrite the pipeline's own definitions.
resource "aws_glue_crawler" "recovery" {
  for_each = local.recovery_targets

  name                   = "${var.name_prefix}-recover-${each.key}"
  description            = "Rebuilds ${each.key}_* tables from S3 if the catalog is lost; not scheduled."
  database_name          = aws_glue_catalog_database.analytics.name
  role                   = aws_iam_role.crawler.arn
  table_prefix           = "${each.key}_"
  security_configuration = aws_glue_security_configuration.crawler.name

  s3_target {
    path       = each.value.path
    exclusions = each.value.exclusions
  }

  schema_change_policy {
    update_behavior = "LOG"
    delete_behavior = "LOG"
  }

  recrawl_policy {
    recrawl_behavior = "CRAWL_EVERYTHING"
  }

  # Table level 2 (<bucket>/<table>/) makes each table folder one table; year/month/day become
  # partition keys, as the pipeline declares them.
  configuration = jsonencode({
    Version = 1.0
    Grouping = {
      TableLevelConfiguration = each.key == "quarantine" ? 3 : 2
      TableGroupingPolicy     = "CombineCompatibleSchemas"
    }
    CrawlerOutput = {
      Partitions = { AddOrUpdateBehavior = "InheritFromTable" }
    }
  })
}

# With a security configuration that encrypts CloudWatch logs, a crawler writes to
# /aws-glue/crawlers-role/<role>-<security configuration>; created here so it has a retention and the key.
resource "aws_cloudwatch_log_group" "crawler" {
  name              = "/aws-glue/crawlers-role/${aws_iam_role.crawler.name}-${aws_glue_security_configuration.crawler.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_iam_role" "crawler" {
  name               = "${var.name_prefix}-glue-crawler"
  assume_role_policy = data.aws_iam_policy_document.crawler_trust.json
}

data "aws_iam_policy_document" "crawler_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role_policy" "crawler" {
  name   = "recover-catalog"
  role   = aws_iam_role.crawler.id
  policy = data.aws_iam_policy_document.crawler.json
}

data "aws_iam_policy_document" "crawler" {
  statement {
    sid       = "ListLakeBuckets"
    actions   = ["s3:ListBucket"]
    resources = [for name in values(var.lake_bucket_names) : "arn:${local.partition}:s3:::${name}"]
  }

  statement {
    sid       = "ReadLakeObjects"
    actions   = ["s3:GetObject"]
    resources = [for name in values(var.lake_bucket_names) : "arn:${local.partition}:s3:::${name}/*"]
  }

  statement {
    sid     = "RebuildTablesOfTheDatabase"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition", "glue:CreatePartition", "glue:BatchCreatePartition", "glue:UpdatePartition", "glue:BatchUpdatePartition"]
    resources = [
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
      aws_glue_catalog_database.analytics.arn,
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.database_name}/*",
    ]
  }

  statement {
    sid       = "DecryptLakeAndEncryptLogs"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "WriteCrawlerLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/crawlers*"]
  }
}
