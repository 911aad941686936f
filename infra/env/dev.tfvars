environment                 = "dev"
aws_region                  = "eu-west-1"
glue_database_name          = "ecommerce_analytics_dev"
athena_bytes_scanned_cutoff = 1073741824  # 1 GiB per query
athena_daily_bytes_alarm    = 10737418240 # 10 GiB a day
monthly_budget_usd          = 60 # the deployment itself costs about $50 a month (README: Deploy to production)
alert_emails                = ["data-team@example.com"] # replace: each address confirms the SNS subscription e-mail
image_tag                   = "dev-1" # the tag you pushed (immutable)
