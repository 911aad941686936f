locals {
  # Lifecycle per bucket. expire_prefixes expire objects under a prefix sooner: gold's _staging/ holds
  # what Athena UNLOADs before it is published into the lake (a run that died leaves it behind).
  # Archives use Glacier Instant Retrieval: objects stay readable with a plain
  # GetObject, so history windows, backfills and Athena keep working on old partitions (Flexible
  # Retrieval would need a restore first). expire_days = 0 keeps current versions.
  layers = {
    landing = {
      transitions     = []
      expire_days     = 0
      expire_prefixes = {}
    }
    bronze = {
      transitions     = [
        { days = 30, storage_class = "INTELLIGENT_TIERING" },
        { days = 90, storage_class = "GLACIER_IR" },
      ]
      expire_days     = 365
      expire_prefixes = {}
    }
    # Silver stays in Standard: customer_lifetime_value and the snapshots read all of its history every night,
    # so an archive class would bill a retrieval per object per night.
    silver = {
      transitions     = []
      expire_days     = 0
      expire_prefixes = {}
    }
    gold = {
      transitions     = []
      expire_days     = 730 # kept two years
      # What Athena UNLOADs is published into the lake and deleted within the run; a run that died leaves it.
      expire_prefixes = { "_staging/" = 2 }
    }
    athena-results = {
      transitions     = []
      expire_days     = 7
      expire_prefixes = {}
    }
  }
}

module "bucket" {
  source   = "./modules/bucket"
  for_each = local.layers

  name                           = "${var.name_prefix}-${each.key}-${local.account_id}"
  kms_key_arn                    = aws_kms_key.data.arn
  log_bucket                     = aws_s3_bucket.logs.id
  log_prefix                     = "${each.key}/"
  transitions                    = each.value.transitions
  expire_days                    = each.value.expire_days
  expire_prefixes                = each.value.expire_prefixes
  noncurrent_version_expire_days = 30
}

# The Dagster instance's step logs (S3ComputeLogManager, DAGSTER_COMPUTE_LOGS_BUCKET), kept as long as the logs.
module "dagster" {
  source = "./modules/bucket"

  name                           = "${var.name_prefix}-dagster-${local.account_id}"
  kms_key_arn                    = aws_kms_key.data.arn
  log_bucket                     = aws_s3_bucket.logs.id
  log_prefix                     = "dagster/"
  transitions                    = []
  expire_days                    = var.log_retention_days
  noncurrent_version_expire_days = 30
}
