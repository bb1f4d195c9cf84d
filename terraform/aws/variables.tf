variable "name" {
  type        = string
  description = "Name of the job and prefix of every resource it creates."
  default     = "lakefuse"
}

variable "region" {
  type        = string
  description = "AWS region of the lake, the registry and the batch job."
}

variable "lake_bucket_name" {
  type        = string
  description = "Name of the S3 bucket that holds the lake (created here)."
}

variable "dataset_prefixes" {
  type        = list(string)
  description = "Prefixes (ending in /) of the datasets the job reads, e.g. [\"mfeat/\"]."
}

variable "jobs_prefix" {
  type        = string
  description = "Prefix (ending in /) that holds job specs; the job may read it."
  default     = "jobs/"
}

variable "spec_key" {
  type        = string
  description = "Key of the spec the scheduled job runs, under jobs_prefix, e.g. jobs/nightly.yaml."
}

variable "output_prefix" {
  type        = string
  description = "Prefix (ending in /) the job writes runs under: the spec's output folder. The only prefix it can write."
  default     = "runs/"
}

variable "image_tag" {
  type        = string
  description = "Tag of the lakefuse image in the ECR repository to run."
}

variable "extra_args" {
  type        = list(string)
  description = "Further arguments to lakefuse run, e.g. [\"--filter\", \"date={yesterday}\"]."
  default     = []
}

variable "vcpu" {
  type        = number
  description = "vCPUs of the Fargate task (0.25 to 16, in Fargate's steps)."
  default     = 2
}

variable "memory_mib" {
  type        = number
  description = "Memory of the Fargate task in MiB (must be valid for vcpu)."
  default     = 8192
}

variable "cpu_architecture" {
  type        = string
  description = "X86_64 or ARM64: the architecture the image was built for."
  default     = "X86_64"
}

variable "max_vcpus" {
  type        = number
  description = "Most vCPUs the Fargate compute environment may run at once."
  default     = 16
}

variable "subnet_ids" {
  type        = list(string)
  description = "Subnets of the Fargate tasks (private subnets with a NAT or VPC endpoints for S3, ECR and logs)."
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the Fargate tasks (egress to S3, ECR and CloudWatch only)."
}

variable "assign_public_ip" {
  type        = bool
  description = "Give tasks a public IP (only for public subnets without a NAT)."
  default     = false
}

variable "shards" {
  type        = number
  description = "Shards of one run: above 1 the schedule submits an array job of this size, each child one shard (AWS_BATCH_JOB_ARRAY_INDEX, LAKEFUSE_SHARDS), the last to finish commits the run. See the README's Scaling out."
  default     = 1
  validation {
    condition     = var.shards >= 1 && var.shards <= 10000 && floor(var.shards) == var.shards
    error_message = "shards: a whole number from 1 to 10000 (AWS Batch's array size limit)."
  }
}

variable "retry_attempts" {
  type        = number
  description = "Attempts per job (1 to 10); only infrastructure failures and interruptions are retried."
  default     = 3
}

variable "timeout_seconds" {
  type        = number
  description = "Wall-clock limit of one attempt, in seconds (at least 60)."
  default     = 14400
}

variable "schedule_expression" {
  type        = string
  description = "When to run, as an EventBridge Scheduler expression, e.g. cron(0 3 * * ? *)."
  default     = "cron(0 3 * * ? *)"
}

variable "schedule_timezone" {
  type        = string
  description = "IANA time zone of schedule_expression."
  default     = "UTC"
}

variable "run_retention_days" {
  type        = number
  description = "Days to keep runs under output_prefix before the lifecycle rule expires them."
  default     = 90
}

variable "noncurrent_retention_days" {
  type        = number
  description = "Days to keep overwritten or deleted object versions."
  default     = 30
}

variable "images_to_keep" {
  type        = number
  description = "Images the ECR lifecycle policy keeps."
  default     = 20
}

variable "log_retention_days" {
  type        = number
  description = "Days to keep the job's CloudWatch logs."
  default     = 30
}

variable "alert_emails" {
  type        = list(string)
  description = "Addresses told (through the SNS topic) when a job fails, is cancelled in RUNNABLE, or cannot be submitted. Each must confirm its subscription."
  default     = []
}

variable "runnable_timeout_seconds" {
  type        = number
  description = "How long a job may wait in RUNNABLE (no capacity, no route to the image) before the queue cancels it, which alerts."
  default     = 3600
  validation {
    condition     = var.runnable_timeout_seconds >= 600 && var.runnable_timeout_seconds <= 86400
    error_message = "runnable_timeout_seconds: 600 (Batch's minimum) to 86400."
  }
}

variable "fargate_spot" {
  type        = bool
  description = "Run on Fargate Spot: cheaper; an interruption stops the attempt with exit 130 (nothing committed) and the retry strategy runs it again."
  default     = false
}

variable "eks_oidc_provider_arn" {
  type        = string
  description = "To run deploy/k8s on EKS with this job role (IRSA): the ARN of the cluster's IAM OIDC provider (arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>). Empty: Batch only."
  default     = ""
  validation {
    condition     = var.eks_oidc_provider_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+", var.eks_oidc_provider_arn))
    error_message = "eks_oidc_provider_arn: an IAM OIDC provider ARN, or empty."
  }
}

variable "k8s_namespace" {
  type        = string
  description = "Namespace of the ServiceAccount that may assume the job role on EKS (deploy/k8s uses lakefuse)."
  default     = "lakefuse"
}

variable "k8s_service_account" {
  type        = string
  description = "ServiceAccount that may assume the job role on EKS (deploy/k8s uses lakefuse)."
  default     = "lakefuse"
}
