data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
  image      = "${var.repository_url}:${var.image_tag}"
  run_family = "${var.name_prefix}-run"

  # What deploy/aws/dagster.yaml reads (`env:`), plus libpq's PGSSLMODE: every connection to RDS is TLS.
  # The password is not here: it is a secret (DAGSTER_PG_PASSWORD), injected by ECS from Secrets Manager.
  # DAGSTER_RUN_TASK_DEFINITION is set per task definition below.
  instance_environment = {
    DAGSTER_PG_HOST             = var.database.host
    DAGSTER_PG_PORT             = tostring(var.database.port)
    DAGSTER_PG_USER             = var.database.username
    DAGSTER_PG_DB               = var.database.db_name
    PGSSLMODE                   = "require"
    DAGSTER_COMPUTE_LOGS_BUCKET = var.compute_logs_bucket_name
  }

  # Every container gets the pipeline's variables (generated in infra/main.tf from the list settings.py reads)
  # and the instance's.
  environment = merge(var.pipeline_environment, local.instance_environment)
  secrets     = [{ name = "DAGSTER_PG_PASSWORD", valueFrom = var.database.password_secret_arn }]

  # The root filesystem is read-only; /tmp is a task volume, filled from the image's VOLUME ["/tmp"] (the step logs
  # and artifacts of deploy/aws/dagster.yaml go to /tmp/dagster, owned by the image's user).
  container_defaults = {
    image                  = local.image
    essential              = true
    readonlyRootFilesystem = true
    secrets                = local.secrets
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    linuxParameters        = { initProcessEnabled = true } # reaps the code server and ECS Exec's agent
  }

  containers = {
    webserver = merge(local.container_defaults, {
      name         = "webserver"
      command      = ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "workspace.yaml"]
      portMappings = [{ containerPort = 3000, protocol = "tcp" }]
      healthCheck = {
        command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/server_info', timeout=5)"]
        interval    = 30
        timeout     = 10
        retries     = 3
        startPeriod = 120
      }
    })
    daemon = merge(local.container_defaults, {
      name    = "daemon"
      command = ["dagster-daemon", "run", "-w", "workspace.yaml"]
    })
    # The EcsRunLauncher sets the command of this container ("dagster api execute_run ...") for each run.
    run = merge(local.container_defaults, {
      name    = "run"
      command = ["dagster", "api", "execute_run"]
    })
  }

}

# --- cluster ---------------------------------------------------------------------------------------------------

resource "aws_ecs_cluster" "this" {
  name = var.name_prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  # ECS Exec sessions (the UI's SSM port forwarding) are encrypted with the project key and logged.
  configuration {
    execute_command_configuration {
      kms_key_id = var.kms_key_arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.exec.name
      }
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "exec" {
  name              = "/${var.name_prefix}/ecs-exec"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# --- task definitions: run, webserver, daemon ---------------------------------------------------------------------

# The awslogs options of each container: the group the failed-run, succeeded-run and quarantined-rows metric
# filters watch, one stream prefix per container.
locals {
  log_configuration = {
    for name in keys(local.containers) : name => {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = var.log_group_name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = name
      }
    }
  }
}

# Runs hold the lake's permissions (the pipeline role); the webserver and the daemon only orchestrate.
resource "aws_ecs_task_definition" "run" {
  family                   = local.run_family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.run_size.cpu
  memory                   = var.run_size.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = var.pipeline_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "tmp"
  }

  # A revision cannot name itself: the run container's instance names the family (it never launches runs).
  container_definitions = jsonencode([merge(local.containers["run"], {
    environment = [
      for name, value in merge(local.environment, { DAGSTER_RUN_TASK_DEFINITION = local.run_family }) :
      { name = name, value = value }
    ]
    logConfiguration = local.log_configuration["run"]
  })])
}

resource "aws_ecs_task_definition" "service" {
  for_each = toset(["webserver", "daemon"])

  family                   = "${var.name_prefix}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.key == "webserver" ? var.webserver_size.cpu : var.daemon_size.cpu
  memory                   = each.key == "webserver" ? var.webserver_size.memory : var.daemon_size.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.orchestrator.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "tmp"
  }

  # The EcsRunLauncher resolves DAGSTER_RUN_TASK_DEFINITION once, when the process starts. Naming the run task
  # definition's revision here means a new revision (new image, new size) also redeploys the daemon and the
  # webserver, so no run is ever launched from a deregistered revision.
  container_definitions = jsonencode([merge(local.containers[each.key], {
    environment = [
      for name, value in merge(local.environment, { DAGSTER_RUN_TASK_DEFINITION = aws_ecs_task_definition.run.arn }) :
      { name = name, value = value }
    ]
    logConfiguration = local.log_configuration[each.key]
  })])
}

# --- services: one webserver, exactly one daemon -------------------------------------------------------------------

resource "aws_ecs_service" "this" {
  #checkov:skip=CKV_AWS_333:The public IP is for egress only (ECR, AWS APIs) and saves a NAT gateway that alone costs more than the whole deployment; the tasks' security group has no inbound rule.
  for_each = toset(["webserver", "daemon"])

  name             = each.key
  cluster          = aws_ecs_cluster.this.id
  task_definition  = aws_ecs_task_definition.service[each.key].arn
  desired_count    = 1
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  propagate_tags   = "SERVICE"
  # The UI is reached with an SSM port-forwarding session into the webserver task (ECS Exec).
  enable_execute_command = each.key == "webserver"
  # Never two daemons at once (they would both tick the schedules and sensors): stop the old one first.
  deployment_minimum_healthy_percent = each.key == "daemon" ? 0 : 100
  deployment_maximum_percent         = each.key == "daemon" ? 100 : 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = true
  }
}

# --- the tasks' security group -------------------------------------------------------------------------------------

# Webserver, daemon and runs. No ingress rule at all: the UI is reached through an SSM port-forwarding session,
# which the task's SSM agent opens from inside (see infra/README.md).
resource "aws_security_group" "tasks" {
  name        = "${var.name_prefix}-tasks"
  description = "Dagster webserver, daemon and run tasks: no inbound traffic; HTTPS and PostgreSQL out."
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "AWS APIs (ECR, S3, Glue, Athena, ECS, SSM, CloudWatch Logs, Secrets Manager) over HTTPS."
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "tasks_postgres" {
  for_each = toset(var.database_cidr_blocks)

  security_group_id = aws_security_group.tasks.id
  description       = "The Dagster instance database, in the database subnets."
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "tasks_smtp" {
  count = var.smtp_port > 0 ? 1 : 0

  security_group_id = aws_security_group.tasks.id
  description       = "Failure e-mails to the SMTP server in ECOM_ALERT_SMTP_HOST (run_failure_alert sensor)."
  ip_protocol       = "tcp"
  from_port         = var.smtp_port
  to_port           = var.smtp_port
  cidr_ipv4         = "0.0.0.0/0"
}
