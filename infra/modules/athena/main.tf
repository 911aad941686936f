locals {
  results_uri = "s3://${var.results_bucket_name}/${var.results_prefix}/"
}

resource "aws_athena_workgroup" "pipeline" {
  name          = var.workgroup_name
  description   = "ecommerce-pipeline queries: view creation, gold verification counts."
  force_destroy = false

  configuration {
    # Clients cannot override the output location, encryption or the cutoff below.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff

    result_configuration {
      output_location = local.results_uri

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}
