# Three principals. The execution role (ECS itself: pull the image, write logs, read the database password);
# the orchestrator role (the webserver's and the daemon's tasks: launch and stop run tasks, read and write the
# step logs, list the landing bucket for the arrival sensor); and the pipeline role (iam module) for the runs,
# plus what a run worker needs of the Dagster instance (its step logs). test_infra.py checks every statement.

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    sid     = "EcsTasksOfThisAccount"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

# --- execution role ------------------------------------------------------------------------------------------------

resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-ecs-execution"
  description        = "ECS starts the deployment's tasks: pulls the image, writes their logs, reads the database password."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

resource "aws_iam_role_policy" "execution" {
  name   = "start-tasks"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

data "aws_iam_policy_document" "execution" {
  #checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken has no resource-level permissions; "*" is the only resource it accepts.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullTheImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [var.repository_arn]
  }

  statement {
    sid       = "WriteTaskLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.log_group_name}:*"]
  }

  statement {
    sid       = "ReadTheDatabasePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.database.password_secret_arn]
  }

  # The image layers, the secret and the log group are encrypted with the project key.
  statement {
    sid       = "DecryptWithTheProjectKey"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

# --- orchestrator: the webserver and the daemon ---------------------------------------------------------------------

resource "aws_iam_role" "orchestrator" {
  name                 = "${var.name_prefix}-orchestrator"
  description          = "Dagster webserver and daemon: launch, watch and stop run tasks; step logs; list landing for the arrival sensor."
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "orchestrator" {
  name   = "orchestrate-runs"
  role   = aws_iam_role.orchestrator.id
  policy = data.aws_iam_policy_document.orchestrator.json
}

data "aws_iam_policy_document" "orchestrator" {
  #checkov:skip=CKV_AWS_356:ecs:DescribeTaskDefinition, ec2:DescribeNetworkInterfaces and the ssmmessages actions have no resource-level permissions; each is alone in its statement.
  #checkov:skip=CKV_AWS_111:The only write actions on "*" are ssmmessages channel actions, which accept no other resource (ECS Exec of the webserver).

  # EcsRunLauncher: one task of the run task definition per run, in this cluster, tagged with the run id.
  statement {
    sid       = "LaunchRunTasks"
    actions   = ["ecs:RunTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${local.run_family}:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.this.arn]
    }
  }

  statement {
    sid       = "WatchTagAndStopRunTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"]
  }

  # The launcher resolves DAGSTER_RUN_TASK_DEFINITION (a family name) to its latest revision.
  statement {
    sid       = "ResolveTheRunTaskDefinition"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }

  # use_current_ecs_task_config: the run gets the daemon's subnets and security group, read from its ENI.
  statement {
    sid       = "ReadTheDaemonsNetworkInterface"
    actions   = ["ec2:DescribeNetworkInterfaces"]
    resources = ["*"]
  }

  statement {
    sid       = "HandTheRolesToRunTasks"
    actions   = ["iam:PassRole"]
    resources = [var.pipeline_role_arn, aws_iam_role.execution.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # The launcher reads a failed run task's last log lines into the run's failure message.
  statement {
    sid       = "ReadRunTaskLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.log_group_name}:*"]
  }

  # S3ComputeLogManager: the daemon writes sensor and schedule logs, the webserver shows every step's logs.
  statement {
    sid       = "StepLogsBucket"
    actions   = ["s3:ListBucket"]
    resources = [var.compute_logs_bucket_arn]
  }

  statement {
    sid       = "StepLogsObjects"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.compute_logs_bucket_arn}/compute-logs/*"]
  }

  # The arrival sensor (evaluated in the daemon) lists the landing bucket; it reads no file.
  statement {
    sid       = "ArrivalSensorListsLanding"
    actions   = ["s3:ListBucket"]
    resources = [var.landing_bucket_arn]
  }

  statement {
    sid       = "EncryptWithTheProjectKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  # ECS Exec into the webserver, which carries the UI's SSM port-forwarding sessions.
  statement {
    sid = "EcsExecChannels"
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "EcsExecSessionLog"
    actions   = ["logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.exec.arn}:*"]
  }
}

# --- what a run worker needs of the instance, on top of the pipeline role ------------------------------------------

resource "aws_iam_role_policy" "run_worker" {
  name   = "dagster-run-worker"
  role   = var.pipeline_role_name
  policy = data.aws_iam_policy_document.run_worker.json
}

data "aws_iam_policy_document" "run_worker" {
  # S3ComputeLogManager uploads the run's step logs; the lake's permissions are the pipeline policy's.
  statement {
    sid       = "WriteStepLogs"
    actions   = ["s3:PutObject"]
    resources = ["${var.compute_logs_bucket_arn}/compute-logs/*"]
  }

  statement {
    sid       = "EncryptStepLogs"
    actions   = ["kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

# --- operators: the UI through an SSM port-forwarding session ------------------------------------------------------

# Attach this to the operators' SSO role or group: it is the only way to the UI (see infra/README.md).
resource "aws_iam_policy" "ui_access" {
  name        = "${var.name_prefix}-dagster-ui-access"
  description = "Open the Dagster UI of ${var.name_prefix} through an SSM port-forwarding session into the webserver task."
  policy      = data.aws_iam_policy_document.ui_access.json
}

data "aws_iam_policy_document" "ui_access" {
  statement {
    sid       = "FindTheWebserverTask"
    actions   = ["ecs:ListTasks"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:container-instance/${aws_ecs_cluster.this.name}/*"]
  }

  statement {
    sid       = "DescribeTheWebserverTask"
    actions   = ["ecs:DescribeTasks"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"]
  }

  statement {
    sid     = "PortForwardIntoTheWebserver"
    actions = ["ssm:StartSession"]
    resources = [
      "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*",
      "arn:${local.partition}:ssm:${local.region}::document/AWS-StartPortForwardingSession",
    ]
  }

  statement {
    sid       = "EndOwnSessions"
    actions   = ["ssm:TerminateSession", "ssm:ResumeSession"]
    resources = ["arn:${local.partition}:ssm:*:*:session/$${aws:userid}-*"]
  }

  statement {
    sid       = "EncryptTheSession"
    actions   = ["kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}
