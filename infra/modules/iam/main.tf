data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
  glue_arn   = "arn:${local.partition}:glue:${local.region}:${local.account_id}"
}

resource "aws_iam_role" "pipeline" {
  name                 = "${var.name_prefix}-pipeline"
  description          = "ecommerce-pipeline runtime: reads landing, writes the lake, registers Glue tables, queries Athena."
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "trust" {
  # Services (ECS tasks) of this account only: aws:SourceAccount and aws:SourceArn stop another account's
  # task from assuming the role through the service (the confused deputy).
  statement {
    sid     = "PipelineRuntime"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = var.trusted_services
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:*:${local.region}:${local.account_id}:*"]
    }
  }

  # Named IAM principals (an operator's role) come without a source account, so they get their own statement.
  dynamic "statement" {
    for_each = length(var.trusted_principal_arns) > 0 ? [var.trusted_principal_arns] : []
    content {
      sid     = "NamedOperators"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }
}

resource "aws_iam_role_policy" "pipeline" {
  name   = "pipeline-least-privilege"
  role   = aws_iam_role.pipeline.id
  policy = data.aws_iam_policy_document.pipeline.json
}

# Every action below is one the package calls (directly, through awswrangler, or through the SQL it
# sends to Athena); ecommerce_pipeline_tests/test_infra.py derives that set from the source and fails
# when this policy grants more or less. No statement needs Resource "*": every action used here
# supports resource-level permissions.
data "aws_iam_policy_document" "pipeline" {
  statement {
    sid       = "ListLandingFiles"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arns["landing"]]
  }

  # The landing bucket stays read-only: export files are the source of truth.
  statement {
    sid       = "ReadLandingFiles"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arns["landing"]}/*"]
  }

  # ListBucket also makes a missing partition answer 404 rather than 403, which the lake relies on.
  statement {
    sid     = "ListLakeTables"
    actions = ["s3:ListBucket"]
    resources = [
      var.bucket_arns["bronze"],
      var.bucket_arns["silver"],
      var.bucket_arns["gold"],
    ]
  }

  # Athena reads the gold tables the pipeline counts, and (ECOM_GOLD_ENGINE=athena) the silver tables
  # gold is computed from and the gold staging folder it UNLOADs into, with the caller's credentials.
  statement {
    sid       = "AthenaLocatesLakeBuckets"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.bucket_arns["silver"], var.bucket_arns["gold"]]
  }

  # Quarantine tables live under the bronze bucket's quarantine/ prefix, so bronze/* covers them.
  statement {
    sid     = "ReplaceLakePartitions"
    actions = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = [
      "${var.bucket_arns["bronze"]}/*",
      "${var.bucket_arns["silver"]}/*",
      "${var.bucket_arns["gold"]}/*",
    ]
  }

  # Athena writes query results with the caller's credentials.
  statement {
    sid       = "AthenaResultsBucket"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [var.bucket_arns["athena-results"]]
  }

  statement {
    sid       = "AthenaResultsObjects"
    actions   = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"]
    resources = ["${var.bucket_arns["athena-results"]}/${var.athena_results_prefix}/*"]
  }

  # Glue checks the catalog, the database and the table ARN of each call, so all three are named.
  statement {
    sid = "RegisterTablesAndViews"
    actions = [
      "glue:BatchCreatePartition",
      "glue:BatchGetPartition",
      "glue:CreateDatabase",
      "glue:CreateTable",
      "glue:GetDatabase",
      "glue:GetPartitions",
      "glue:GetTable",
      "glue:GetTables",
      "glue:UpdatePartition",
      "glue:UpdateTable",
    ]
    resources = [
      "${local.glue_arn}:catalog",
      "${local.glue_arn}:database/${var.glue_database_name}",
      "${local.glue_arn}:table/${var.glue_database_name}/*",
    ]
  }

  statement {
    sid       = "QueryInTheWorkgroup"
    actions   = ["athena:GetQueryExecution", "athena:GetQueryResults", "athena:GetWorkGroup", "athena:StartQueryExecution"]
    resources = [var.athena_workgroup_arn]
  }

  statement {
    sid       = "UseTheDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}
