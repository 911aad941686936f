environment                 = "prod"
aws_region                  = "eu-west-1"
glue_database_name          = "ecommerce_analytics_prod"
athena_bytes_scanned_cutoff = 10737418240  # 10 GiB per query
athena_daily_bytes_alarm    = 107374182400 # 100 GiB a day
monthly_budget_usd          = 4
alert_emails                = []
