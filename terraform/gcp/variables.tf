variable "project_id" {
  type        = string
  description = "Google Cloud project."
}

variable "region" {
  type        = string
  description = "Region of the Cloud Run job, the scheduler and the image repository."
}

variable "bucket_location" {
  type        = string
  description = "Location of the lake bucket (a region or multi-region)."
}

variable "name" {
  type        = string
  description = "Name of the job and prefix of every resource it creates: 2 to 20 lowercase letters, digits and hyphens, starting with a letter (\"<name>-scheduler\" must fit a service account id's 30 characters)."
  default     = "lakefuse"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name))
    error_message = "name: 2 to 20 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "deploy_job" {
  type        = bool
  description = "Create the Cloud Run job and its schedule. Leave false on the first apply (the job needs its image, which the first apply's registry receives); set true once the image is pushed."
  default     = false
}

variable "lake_bucket_name" {
  type        = string
  description = "Name of the GCS bucket that holds the lake (created here)."
}

variable "dataset_prefixes" {
  type        = list(string)
  description = "Prefixes (ending in /) of the datasets the job reads."
}

variable "jobs_prefix" {
  type        = string
  description = "Prefix (ending in /) that holds job specs; the job may read it."
  default     = "jobs/"
}

variable "spec_key" {
  type        = string
  description = "Object name of the spec the scheduled job runs, e.g. jobs/nightly.yaml."
}

variable "output_prefix" {
  type        = string
  description = "Prefix (ending in /) the job writes runs under; the only prefix it can write."
  default     = "runs/"
}

variable "image_tag" {
  type        = string
  description = "Tag of the lakefuse image in the Artifact Registry repository."
}

variable "extra_args" {
  type        = list(string)
  description = "Further arguments to lakefuse run, e.g. [\"--filter\", \"date={yesterday}\"]."
  default     = []
}

variable "cpu" {
  type        = string
  description = "CPU limit of a task, e.g. \"2\"."
  default     = "2"
}

variable "memory" {
  type        = string
  description = "Memory limit of a task, e.g. \"8Gi\"."
  default     = "8Gi"
}

variable "shards" {
  type        = number
  description = "Shards of one run: the job's task_count. Each task reads CLOUD_RUN_TASK_INDEX/CLOUD_RUN_TASK_COUNT and runs its shard; the last to finish commits the run. See the README's Scaling out."
  default     = 1
  validation {
    condition     = var.shards >= 1 && var.shards <= 10000 && floor(var.shards) == var.shards
    error_message = "shards: a whole number from 1 to 10000."
  }
}

variable "parallelism" {
  type        = number
  description = "Tasks running at once (0 = as many as possible, the shards' usual setting)."
  default     = 0
}

variable "timeout_seconds" {
  type        = number
  description = "Wall-clock limit of a task, in seconds."
  default     = 14400
}

variable "max_retries" {
  type        = number
  description = "Cloud Run's retries of a failed task. Cloud Run retries every failure whatever the exit code, so a bad spec (2), bad data (3), a committed run (5) or a crash (70) would be retried too: the default is 0, and lakefuse retries what is transient (storage requests, with backoff) itself."
  default     = 0
  validation {
    condition     = var.max_retries >= 0 && var.max_retries <= 10
    error_message = "max_retries: 0 to 10 (Cloud Run's limit)."
  }
}

variable "schedule" {
  type        = string
  description = "When to run, as a cron expression, e.g. \"0 3 * * *\"."
  default     = "0 3 * * *"
}

variable "schedule_timezone" {
  type        = string
  description = "IANA time zone of the schedule."
  default     = "Etc/UTC"
}

variable "run_retention_days" {
  type        = number
  description = "Days to keep runs under output_prefix."
  default     = 90
}

variable "noncurrent_retention_days" {
  type        = number
  description = "Days to keep overwritten or deleted object versions."
  default     = 30
}

variable "notification_channels" {
  type        = list(string)
  description = "Cloud Monitoring notification channels (projects/<p>/notificationChannels/<id>) told when an execution fails."
  default     = []
}

variable "gke_workload_identity" {
  type        = bool
  description = "Let the deploy/k8s ServiceAccount on a GKE cluster of this project (Workload Identity enabled) run as the job's service account."
  default     = false
}

variable "k8s_namespace" {
  type        = string
  description = "Namespace of the ServiceAccount bound with gke_workload_identity (deploy/k8s uses lakefuse)."
  default     = "lakefuse"
}

variable "k8s_service_account" {
  type        = string
  description = "ServiceAccount bound with gke_workload_identity (deploy/k8s uses lakefuse)."
  default     = "lakefuse"
}
