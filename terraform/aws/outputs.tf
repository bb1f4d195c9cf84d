output "lake_bucket" {
  description = "The lake bucket."
  value       = aws_s3_bucket.lake.bucket
}

output "lake_url" {
  description = "The lake as a lakefuse URL."
  value       = local.lake_url
}

output "ecr_repository_url" {
  description = "Push the image here: <url>:<image_tag>."
  value       = aws_ecr_repository.lakefuse.repository_url
}

output "job_queue_arn" {
  description = "The Batch job queue (for aws batch submit-job)."
  value       = aws_batch_job_queue.lakefuse.arn
}

output "job_definition_arn" {
  description = "The Batch job definition (for aws batch submit-job)."
  value       = aws_batch_job_definition.lakefuse.arn
}

output "job_role_arn" {
  description = "The role lakefuse runs as."
  value       = aws_iam_role.job.arn
}

output "log_group" {
  description = "CloudWatch log group of the job."
  value       = aws_cloudwatch_log_group.lakefuse.name
}

output "schedule_name" {
  description = "The EventBridge Scheduler schedule."
  value       = aws_scheduler_schedule.nightly.name
}

output "alerts_topic_arn" {
  description = "The SNS topic told about failed jobs and failed submissions: subscribe more endpoints to it."
  value       = aws_sns_topic.alerts.arn
}

