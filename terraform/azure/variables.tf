variable "subscription_id" {
  type        = string
  description = "The Azure subscription to deploy into."
}

variable "name" {
  type        = string
  description = "Name of the resource group, the job and the prefix of the other resources: 2 to 24 lowercase letters, digits and hyphens, starting with a letter."
  default     = "lakefuse"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name))
    error_message = "name: 2 to 24 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "location" {
  type        = string
  description = "Azure region, e.g. westeurope."
}

variable "storage_account_name" {
  type        = string
  description = "Name of the storage account that holds the lake (created here; 3 to 24 lowercase letters and digits, globally unique)."
  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.storage_account_name))
    error_message = "storage_account_name: 3 to 24 lowercase letters and digits."
  }
}

variable "registry_name" {
  type        = string
  description = "Name of the container registry (created here; 5 to 50 letters and digits, globally unique)."
  validation {
    condition     = can(regex("^[a-zA-Z0-9]{5,50}$", var.registry_name))
    error_message = "registry_name: 5 to 50 letters and digits."
  }
}

variable "output_prefix" {
  type        = string
  description = "The only prefix of the lake container the job may write under (the spec's output, with a trailing slash)."
  default     = "runs/"
  validation {
    condition     = can(regex("^[^/].*/$", var.output_prefix))
    error_message = "output_prefix: a relative prefix ending with /."
  }
}

variable "spec_key" {
  type        = string
  description = "Blob path of the job spec in the lake container, e.g. jobs/nightly.yaml."
}

variable "image_tag" {
  type        = string
  description = "Tag of the lakefuse image in the registry."
}

variable "extra_args" {
  type        = list(string)
  description = "More lakefuse run arguments, e.g. [\"--filter\", \"date={yesterday}\"]."
  default     = []
}

variable "deploy_job" {
  type        = bool
  description = "Create the Container Apps job. Leave false on the first apply (the job needs its image); set true once the image is pushed."
  default     = false
}

variable "schedule" {
  type        = string
  description = "Cron expression (UTC) of the nightly run."
  default     = "0 3 * * *"
}

variable "shards" {
  type        = number
  description = "Replicas per execution, each a shard of the run (lakefuse reads LAKEFUSE_SHARDS; 1: an ordinary run)."
  default     = 1
  validation {
    condition     = var.shards >= 1 && var.shards <= 100
    error_message = "shards: 1 to 100."
  }
}

variable "cpu" {
  type        = number
  description = "vCPUs of a replica (Container Apps consumption: 0.25 to 4)."
  default     = 2
  validation {
    condition     = var.cpu >= 0.25 && var.cpu <= 4
    error_message = "cpu: 0.25 to 4."
  }
}

variable "memory" {
  type        = string
  description = "Memory of a replica, twice the vCPUs in GiB on consumption plans (e.g. 4Gi for 2 vCPUs); lakefuse takes 75 % of it as its budget."
  default     = "4Gi"
}

variable "timeout_seconds" {
  type        = number
  description = "Time limit of one replica."
  default     = 14400
}

variable "run_retention_days" {
  type        = number
  description = "Days after which run outputs are deleted."
  default     = 90
}

variable "noncurrent_retention_days" {
  type        = number
  description = "Days after which previous versions of blobs are deleted."
  default     = 30
}

variable "log_retention_days" {
  type        = number
  description = "Days the Log Analytics workspace keeps the job's logs."
  default     = 30
}
