locals {
  # Lifecycle per bucket. Archives use Glacier Instant Retrieval: objects stay readable with a plain
  # GetObject, so history windows, backfills and Athena keep working on old partitions (Flexible
  # Retrieval would need a restore first). expire_days = 0 keeps current versions.
  layers = {
    landing = {
      transitions = []
      expire_days = 0
    }
    bronze = {
      transitions = [
        { days = 30, storage_class = "INTELLIGENT_TIERING" },
        { days = 90, storage_class = "GLACIER_IR" },
      ]
      expire_days = 365
    }
    silver = {
      transitions = [{ days = 180, storage_class = "GLACIER_IR" }]
      expire_days = 0
    }
    gold = {
      transitions = []
      expire_days = 730 # kept two years
    }
    athena-results = {
      transitions = []
      expire_days = 7
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
  noncurrent_version_expire_days = 30
}
