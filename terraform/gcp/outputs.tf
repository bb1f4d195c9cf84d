output "lake_bucket" {
  description = "The lake bucket."
  value       = google_storage_bucket.lake.name
}

output "lake_url" {
  description = "The lake as a lakefuse URL."
  value       = local.lake_url
}

output "image" {
  description = "Push the image here."
  value       = local.image
}

output "job_name" {
  description = "The Cloud Run job (gcloud run jobs execute <name>)."
  value       = one(google_cloud_run_v2_job.lakefuse[*].name)
}

output "job_service_account" {
  description = "The identity lakefuse runs as."
  value       = google_service_account.job.email
}

output "scheduler_job" {
  description = "The Cloud Scheduler job."
  value       = one(google_cloud_scheduler_job.nightly[*].name)
}
