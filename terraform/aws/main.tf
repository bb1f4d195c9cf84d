# lakefuse on AWS: the lake bucket, the image repository, an AWS Batch job on
# Fargate, and an EventBridge Scheduler schedule that submits it. See README.md.

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
  }
}

provider "aws" {
  region = var.region
}

locals {
  # The issuer (host/path) of the EKS cluster's OIDC provider, from its ARN.
  oidc_issuer = try(split(":oidc-provider/", var.eks_oidc_provider_arn)[1], "")
  # Prefixes the job reads: the datasets and the job specs. It writes only under
  # var.output_prefix.
  read_prefixes = distinct(concat(var.dataset_prefixes, [var.jobs_prefix]))
  image         = "${aws_ecr_repository.lakefuse.repository_url}:${var.image_tag}"
  lake_url      = "s3://${aws_s3_bucket.lake.bucket}?region=${var.region}"
  spec_url      = "s3://${aws_s3_bucket.lake.bucket}/${var.spec_key}?region=${var.region}"
}

# ---- The lake -------------------------------------------------------------------

resource "aws_s3_bucket" "lake" {
  bucket = var.lake_bucket_name
}

resource "aws_s3_bucket_public_access_block" "lake" {
  bucket                  = aws_s3_bucket.lake.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "lake" {
  bucket = aws_s3_bucket.lake.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  rule {
    id     = "expire-old-runs"
    status = "Enabled"
    filter {
      prefix = var.output_prefix
    }
    expiration {
      days = var.run_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_retention_days
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# ---- The image --------------------------------------------------------------------

resource "aws_ecr_repository" "lakefuse" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
  }
}

# The deployed tag is never expired: ECR does not let a later rule expire an image
# an earlier rule selected, and the first rule selects the deployed tag with a count
# it can never exceed. Then untagged images go after a week, and beyond the last
# images_to_keep, the oldest.
resource "aws_ecr_lifecycle_policy" "lakefuse" {
  repository = aws_ecr_repository.lakefuse.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "keep the deployed tag ${var.image_tag}"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = [var.image_tag]
          countType      = "imageCountMoreThan"
          countNumber    = 1000
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "untagged images after a week"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 7
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "keep the last ${var.images_to_keep} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.images_to_keep
        }
        action = { type = "expire" }
      },
    ]
  })
}

resource "aws_cloudwatch_log_group" "lakefuse" {
  name              = "/aws/batch/${var.name}"
  retention_in_days = var.log_retention_days
}

# ---- IAM: least privilege ---------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# The execution role pulls the image and ships logs; it cannot touch the lake.
resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The job role is what lakefuse runs as (the task role: credentials come from the
# standard chain, never from the spec or the command line). With
# eks_oidc_provider_arn set, the deploy/k8s ServiceAccount (IRSA) may assume it too:
# the same least privilege on EKS as on Batch.
data "aws_iam_policy_document" "job_assume" {
  source_policy_documents = [data.aws_iam_policy_document.ecs_tasks_assume.json]
  dynamic "statement" {
    for_each = var.eks_oidc_provider_arn == "" ? [] : [var.eks_oidc_provider_arn]
    content {
      sid     = "EKSServiceAccount"
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [statement.value]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.oidc_issuer}:sub"
        values   = ["system:serviceaccount:${var.k8s_namespace}:${var.k8s_service_account}"]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.oidc_issuer}:aud"
        values   = ["sts.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "job" {
  name               = "${var.name}-job"
  assume_role_policy = data.aws_iam_policy_document.job_assume.json
}

data "aws_iam_policy_document" "job" {
  # List only the prefixes the job reads or writes.
  statement {
    sid       = "ListItsPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.lake.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = concat([for p in local.read_prefixes : "${p}*"], ["${var.output_prefix}*"])
    }
  }

  # Read the datasets and the job specs.
  statement {
    sid       = "ReadInputs"
    actions   = ["s3:GetObject"]
    resources = [for p in local.read_prefixes : "${aws_s3_bucket.lake.arn}/${p}*"]
  }

  # Write (and read back) runs, under the output prefix only.
  statement {
    sid       = "WriteRuns"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.lake.arn}/${var.output_prefix}*"]
  }

  # Remove an attempt's staged files once it committed or lost: deletes reach
  # only _attempts/ folders, so the job can never delete a committed run's file.
  statement {
    sid       = "CleanStagedAttempts"
    actions   = ["s3:DeleteObject"]
    resources = ["${aws_s3_bucket.lake.arn}/${var.output_prefix}*/_attempts/*"]
  }
}

resource "aws_iam_role_policy" "job" {
  name   = "${var.name}-lake"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job.json
}

# ---- AWS Batch on Fargate -----------------------------------------------------------

resource "aws_batch_compute_environment" "lakefuse" {
  compute_environment_name = var.name
  type                     = "MANAGED"
  compute_resources {
    # Spot: cheaper, and an interruption is a SIGTERM, which lakefuse turns into
    # exit 130 (nothing committed), which the retry strategy retries.
    type               = var.fargate_spot ? "FARGATE_SPOT" : "FARGATE"
    max_vcpus          = var.max_vcpus
    subnets            = var.subnet_ids
    security_group_ids = var.security_group_ids
  }
}

resource "aws_batch_job_queue" "lakefuse" {
  name     = var.name
  state    = "ENABLED"
  priority = 1
  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.lakefuse.arn
  }
  # A job that cannot start (no capacity, a subnet without a route to ECR) fails
  # instead of waiting in RUNNABLE for ever; the failure alert then says so.
  job_state_time_limit_action {
    action           = "CANCEL"
    max_time_seconds = var.runnable_timeout_seconds
    reason           = "stuck in RUNNABLE"
    state            = "RUNNABLE"
  }
}

resource "aws_batch_job_definition" "lakefuse" {
  name                  = var.name
  type                  = "container"
  platform_capabilities = ["FARGATE"]

  # lakefuse's exit codes say what a retry can fix: 4 is a transient infrastructure
  # failure (network, 5xx, throttling, a stalled request) and 130 an interruption
  # (both leave no _SUCCESS, and a retry of the same job id resumes the run); a bad
  # spec (2), bad data (3), a committed run (5), a storage access or
  # configuration problem (6: no bucket, access denied), a crash (70: a bug) or
  # running out of memory (137: the OOM killer or the Go runtime; fix the memory)
  # will not change on retry.
  # In an array job (shards > 1) the strategy applies to each child: a retried
  # shard redoes only its own part, or, if its state is there, finalizes.
  retry_strategy {
    attempts = var.retry_attempts
    evaluate_on_exit {
      on_exit_code = "4"
      action       = "RETRY"
    }
    evaluate_on_exit {
      on_exit_code = "130"
      action       = "RETRY"
    }
    evaluate_on_exit {
      on_exit_code = "*"
      action       = "EXIT"
    }
  }

  timeout {
    attempt_duration_seconds = var.timeout_seconds
  }

  container_properties = jsonencode({
    image = local.image
    # ${AWS_BATCH_JOB_ID} is expanded by lakefuse: the same for every attempt of a job,
    # and, in an array job, the parent's id for every child (lakefuse drops the
    # ":<index>" Batch appends), so all shards name one run.
    command = concat(
      ["run", "--lake", local.lake_url, "--run-id", "${var.name}-$${AWS_BATCH_JOB_ID}"],
      var.extra_args,
      [local.spec_url],
    )
    jobRoleArn       = aws_iam_role.job.arn
    executionRoleArn = aws_iam_role.execution.arn
    resourceRequirements = [
      { type = "VCPU", value = tostring(var.vcpu) },
      { type = "MEMORY", value = tostring(var.memory_mib) },
    ]
    environment = [
      { name = "LAKEFUSE_LOG_FORMAT", value = "json" },
      { name = "AWS_REGION", value = var.region },
      # Batch tells each child its index, not the array's size.
      { name = "LAKEFUSE_SHARDS", value = tostring(var.shards) },
    ]
    networkConfiguration         = { assignPublicIp = var.assign_public_ip ? "ENABLED" : "DISABLED" }
    fargatePlatformConfiguration = { platformVersion = "LATEST" }
    runtimePlatform              = { operatingSystemFamily = "LINUX", cpuArchitecture = var.cpu_architecture }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.lakefuse.name
        "awslogs-region"        = var.region
        "awslogs-stream-prefix" = var.name
      }
    }
  })
}

# ---- The schedule ------------------------------------------------------------------

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid     = "SubmitTheJob"
    actions = ["batch:SubmitJob"]
    resources = [
      aws_batch_job_queue.lakefuse.arn,
      "${aws_batch_job_definition.lakefuse.arn_prefix}:*",
    ]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name}-submit"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "nightly" {
  name                         = var.name
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = "arn:aws:scheduler:::aws-sdk:batch:submitJob"
    role_arn = aws_iam_role.scheduler.arn
    # The scheduled time (not the start time) fixes {today} and {yesterday} in the
    # schedule's time zone: a retry after midnight reads the same day.
    input = jsonencode(merge({
      JobName       = var.name
      JobQueue      = aws_batch_job_queue.lakefuse.arn
      JobDefinition = aws_batch_job_definition.lakefuse.arn
      ContainerOverrides = {
        Environment = [
          { Name = "LAKEFUSE_SCHEDULED_TIME", Value = "<aws.scheduler.scheduled-time>" },
          { Name = "LAKEFUSE_TIMEZONE", Value = var.schedule_timezone },
        ]
      }
    }, var.shards > 1 ? { ArrayProperties = { Size = var.shards } } : {}))
    retry_policy {
      maximum_retry_attempts = 3
    }
    # A schedule whose submission keeps failing leaves its event here (and the
    # queue's alarm tells the topic), instead of vanishing.
    dead_letter_config {
      arn = aws_sqs_queue.schedule_dlq.arn
    }
  }
}

# ---- Someone hears about a failure ------------------------------------------------

resource "aws_sns_topic" "alerts" {
  name = "${var.name}-alerts"
}

resource "aws_sns_topic_subscription" "alerts" {
  for_each  = toset(var.alert_emails)
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}

# Every failed job of this queue: the job name, id and status reason.
resource "aws_cloudwatch_event_rule" "job_failed" {
  name        = "${var.name}-job-failed"
  description = "A lakefuse Batch job failed"
  event_pattern = jsonencode({
    source        = ["aws.batch"]
    "detail-type" = ["Batch Job State Change"]
    detail = {
      status   = ["FAILED"]
      jobQueue = [aws_batch_job_queue.lakefuse.arn]
    }
  })
}

resource "aws_cloudwatch_event_target" "job_failed" {
  rule = aws_cloudwatch_event_rule.job_failed.name
  arn  = aws_sns_topic.alerts.arn
}

data "aws_iam_policy_document" "alerts_topic" {
  statement {
    sid     = "EventBridgePublishes"
    actions = ["sns:Publish"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
    resources = [aws_sns_topic.alerts.arn]
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts_topic.json
}

resource "aws_sqs_queue" "schedule_dlq" {
  name                      = "${var.name}-schedule-dlq"
  message_retention_seconds = 1209600 # 14 days
  sqs_managed_sse_enabled   = true
}

data "aws_iam_policy_document" "schedule_dlq" {
  statement {
    sid     = "SchedulerDeadLetters"
    actions = ["sqs:SendMessage"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    resources = [aws_sqs_queue.schedule_dlq.arn]
  }
}

resource "aws_sqs_queue_policy" "schedule_dlq" {
  queue_url = aws_sqs_queue.schedule_dlq.id
  policy    = data.aws_iam_policy_document.schedule_dlq.json
}

resource "aws_cloudwatch_metric_alarm" "schedule_dlq" {
  alarm_name          = "${var.name}-schedule-not-submitted"
  alarm_description   = "EventBridge Scheduler could not submit the lakefuse job: see the dead-letter queue"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.schedule_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = [aws_sns_topic.alerts.arn]
}
