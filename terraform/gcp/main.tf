# lakefuse on Google Cloud: the lake bucket, an Artifact Registry repository, a
# Cloud Run job and a Cloud Scheduler job that runs it. See README.md.

terraform {
  required_version = ">= 1.6"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  read_prefixes = distinct(concat(var.dataset_prefixes, [var.jobs_prefix]))
  image         = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.lakefuse.repository_id}/lakefuse:${var.image_tag}"
  lake_url      = "gs://${google_storage_bucket.lake.name}"
  spec_url      = "gs://${google_storage_bucket.lake.name}/${var.spec_key}"
  objects       = "projects/_/buckets/${google_storage_bucket.lake.name}/objects/"
}

# ---- The project's APIs ------------------------------------------------------------

# Enabled here, so that a first apply on an empty project works; left enabled on
# destroy (other things in the project may use them).
resource "google_project_service" "apis" {
  for_each           = toset(["run.googleapis.com", "cloudscheduler.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com", "storage.googleapis.com", "monitoring.googleapis.com"])
  service            = each.value
  disable_on_destroy = false
}

# ---- The lake -------------------------------------------------------------------

resource "google_storage_bucket" "lake" {
  name                        = var.lake_bucket_name
  location                    = var.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age            = var.run_retention_days
      matches_prefix = [var.output_prefix]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_retention_days
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_artifact_registry_repository" "lakefuse" {
  depends_on    = [google_project_service.apis]
  location      = var.region
  repository_id = var.name
  format        = "DOCKER"
  description   = "lakefuse images"
}

# ---- Identities: least privilege ---------------------------------------------------

resource "google_service_account" "job" {
  depends_on   = [google_project_service.apis]
  account_id   = "${var.name}-job"
  display_name = "lakefuse job"
}

# Read the datasets and the job specs. Listing is a bucket-level permission in GCS,
# so the condition also admits the bucket itself (names only); object reads are
# limited to the input prefixes.
resource "google_storage_bucket_iam_member" "read_inputs" {
  for_each = toset(local.read_prefixes)
  bucket   = google_storage_bucket.lake.name
  role     = "roles/storage.objectViewer"
  member   = "serviceAccount:${google_service_account.job.email}"
  condition {
    title      = "read-${replace(trimsuffix(each.value, "/"), "/", "-")}"
    expression = "resource.name.startsWith(\"${local.objects}${each.value}\") || resource.type == \"storage.googleapis.com/Bucket\""
  }
}

# Write runs: create, overwrite (an attempt retried after a failure restages its files), delete (staged files after the commit) and read
# back, under the output prefix only.
resource "google_storage_bucket_iam_member" "write_runs" {
  bucket = google_storage_bucket.lake.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.job.email}"
  condition {
    title      = "write-runs"
    expression = "resource.name.startsWith(\"${local.objects}${var.output_prefix}\")"
  }
}

# ---- The Cloud Run job ---------------------------------------------------------------

# The job needs its image to exist: created only with deploy_job = true, the
# second apply, after the image is pushed (README).
resource "google_cloud_run_v2_job" "lakefuse" {
  count               = var.deploy_job ? 1 : 0
  name                = var.name
  location            = var.region
  deletion_protection = false # so that terraform destroy works
  depends_on          = [google_project_service.apis]

  template {
    task_count  = var.shards
    parallelism = var.parallelism

    template {
      service_account = google_service_account.job.email
      timeout         = "${var.timeout_seconds}s"
      max_retries     = var.max_retries

      containers {
        image = local.image
        # ${CLOUD_RUN_EXECUTION} is expanded by lakefuse: the same for every retry of
        # one execution and for each of its tasks, so a retry resumes the run and
        # the shards (tasks) of one execution name one run.
        args = concat(
          ["run", "--lake", local.lake_url, "--run-id", "${var.name}-$${CLOUD_RUN_EXECUTION}"],
          var.extra_args,
          [local.spec_url],
        )
        env {
          name  = "LAKEFUSE_LOG_FORMAT"
          value = "gcp" # Cloud Logging's keys: severity, message
        }
        # {today} and {yesterday} in the schedule's time zone. Cloud Scheduler
        # cannot hand the container its schedule time, so the dates are those of
        # the execution's start, a few seconds after it; Cloud Run never retries
        # an execution (max_retries 0), so no later attempt can read another day.
        env {
          name  = "LAKEFUSE_TIMEZONE"
          value = var.schedule_timezone
        }
        resources {
          limits = {
            cpu    = var.cpu
            memory = var.memory
          }
        }
      }
    }
  }
}

# ---- The schedule --------------------------------------------------------------------

resource "google_service_account" "scheduler" {
  depends_on   = [google_project_service.apis]
  account_id   = "${var.name}-scheduler"
  display_name = "lakefuse scheduler"
}

resource "google_cloud_run_v2_job_iam_member" "scheduler_invokes" {
  count    = var.deploy_job ? 1 : 0
  name     = google_cloud_run_v2_job.lakefuse[0].name
  location = var.region
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_scheduler_job" "nightly" {
  count      = var.deploy_job ? 1 : 0
  depends_on = [google_project_service.apis]
  name       = var.name
  region     = var.region
  schedule   = var.schedule
  time_zone  = var.schedule_timezone

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.lakefuse[0].name}:run"
    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  retry_config {
    retry_count = 1
  }
}

# ---- Someone hears about a failure ------------------------------------------------

# Every failed execution of the job (its exit code is in the structured last log
# line, with severity ERROR) notifies the channels given.
resource "google_monitoring_alert_policy" "execution_failed" {
  count        = var.deploy_job ? 1 : 0
  depends_on   = [google_project_service.apis]
  display_name = "${var.name}: a Cloud Run job execution failed"
  combiner     = "OR"
  conditions {
    display_name = "failed execution of ${var.name}"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_job\" AND resource.labels.job_name = \"${var.name}\" AND metric.type = \"run.googleapis.com/job/completed_execution_count\" AND metric.labels.result = \"failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
  notification_channels = var.notification_channels
}

# ---- GKE (deploy/k8s) ----------------------------------------------------------------

# With gke_workload_identity, the deploy/k8s ServiceAccount runs as the job's
# service account (annotate it with iam.gke.io/gcp-service-account = the
# job_service_account output): the same least privilege on GKE as on Cloud Run.
resource "google_service_account_iam_member" "gke_workload_identity" {
  count              = var.gke_workload_identity ? 1 : 0
  service_account_id = google_service_account.job.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.k8s_namespace}/${var.k8s_service_account}]"
}
