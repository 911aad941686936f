terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
    # The Dagster instance database's password (modules/rds), kept in Secrets Manager.
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State lives wherever the operator's backend config says (`terraform init -backend-config=...`);
  # nothing account-specific is committed.
  backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      project     = var.project
      environment = var.environment
      managed_by  = "terraform"
    }
  }
}
