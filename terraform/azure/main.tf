# lakefuse on Azure: the lake storage account, a container registry, a Container
# Apps job on a schedule, and a user-assigned identity that reads the datasets and
# writes only under the output prefix. See README.md.

terraform {
  required_version = ">= 1.6"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
  }
}

provider "azurerm" {
  features {}
  subscription_id = var.subscription_id
}

locals {
  image    = "${azurerm_container_registry.lakefuse.login_server}/lakefuse:${var.image_tag}"
  lake_url = "azblob://${azurerm_storage_container.lake.name}?storage_account=${azurerm_storage_account.lake.name}"
  spec_url = "azblob://${azurerm_storage_container.lake.name}/${var.spec_key}?storage_account=${azurerm_storage_account.lake.name}"
  # Blob paths in role assignment conditions are relative to the container.
  container_scope = "${azurerm_storage_account.lake.id}/blobServices/default/containers/${azurerm_storage_container.lake.name}"
}

resource "azurerm_resource_group" "lakefuse" {
  name     = var.name
  location = var.location
}

# ---- The lake -------------------------------------------------------------------

resource "azurerm_storage_account" "lake" {
  name                            = var.storage_account_name
  resource_group_name             = azurerm_resource_group.lakefuse.name
  location                        = azurerm_resource_group.lakefuse.location
  account_tier                    = "Standard"
  account_replication_type        = "ZRS"
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false # identities only: no account keys in use
  blob_properties {
    versioning_enabled = true
  }
}

resource "azurerm_storage_container" "lake" {
  name                  = "lake"
  storage_account_id    = azurerm_storage_account.lake.id
  container_access_type = "private"
}

# Old runs expire, as on the other clouds.
resource "azurerm_storage_management_policy" "runs" {
  storage_account_id = azurerm_storage_account.lake.id
  rule {
    name    = "expire-old-runs"
    enabled = true
    filters {
      blob_types   = ["blockBlob"]
      prefix_match = ["${azurerm_storage_container.lake.name}/${var.output_prefix}"]
    }
    actions {
      base_blob {
        delete_after_days_since_modification_greater_than = var.run_retention_days
      }
      version {
        delete_after_days_since_creation = var.noncurrent_retention_days
      }
    }
  }
}

# ---- The image -------------------------------------------------------------------

resource "azurerm_container_registry" "lakefuse" {
  name                = var.registry_name
  resource_group_name = azurerm_resource_group.lakefuse.name
  location            = azurerm_resource_group.lakefuse.location
  sku                 = "Basic"
  admin_enabled       = false
}

# ---- Identity: least privilege ---------------------------------------------------------

resource "azurerm_user_assigned_identity" "job" {
  name                = "${var.name}-job"
  resource_group_name = azurerm_resource_group.lakefuse.name
  location            = azurerm_resource_group.lakefuse.location
}

resource "azurerm_role_assignment" "pull" {
  scope                = azurerm_container_registry.lakefuse.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.job.principal_id
}

# Reads: the container (listing and reading blobs), as the job needs to read the
# datasets and its spec.
resource "azurerm_role_assignment" "read" {
  scope                = local.container_scope
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azurerm_user_assigned_identity.job.principal_id
}

# Writes: blob data contributor, but an ABAC condition allows its write and delete
# actions only on blobs under the output prefix.
resource "azurerm_role_assignment" "write_runs" {
  scope                = local.container_scope
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.job.principal_id
  condition_version    = "2.0"
  condition            = <<-EOT
    (
     (
      !(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'})
      AND
      !(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'})
      AND
      !(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'})
     )
     OR
     (
      @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith '${var.output_prefix}'
     )
    )
  EOT
}

# ---- The job --------------------------------------------------------------------

resource "azurerm_log_analytics_workspace" "lakefuse" {
  name                = var.name
  resource_group_name = azurerm_resource_group.lakefuse.name
  location            = azurerm_resource_group.lakefuse.location
  retention_in_days   = var.log_retention_days
}

resource "azurerm_container_app_environment" "lakefuse" {
  name                       = var.name
  resource_group_name        = azurerm_resource_group.lakefuse.name
  location                   = azurerm_resource_group.lakefuse.location
  log_analytics_workspace_id = azurerm_log_analytics_workspace.lakefuse.id
}

# A Container Apps job cannot be created before its image exists: with
# deploy_job = false (the first apply) everything else is created; push the
# image, then apply again with deploy_job = true (README).
resource "azurerm_container_app_job" "lakefuse" {
  count                        = var.deploy_job ? 1 : 0
  name                         = var.name
  resource_group_name          = azurerm_resource_group.lakefuse.name
  location                     = azurerm_resource_group.lakefuse.location
  container_app_environment_id = azurerm_container_app_environment.lakefuse.id
  replica_timeout_in_seconds   = var.timeout_seconds
  # Container Apps retries every failure whatever the exit code (a bad spec, a
  # committed run...): none here; lakefuse retries transient storage failures
  # itself.
  replica_retry_limit = 0

  schedule_trigger_config {
    cron_expression          = var.schedule
    parallelism              = var.shards
    replica_completion_count = var.shards
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.job.id]
  }

  registry {
    server   = azurerm_container_registry.lakefuse.login_server
    identity = azurerm_user_assigned_identity.job.id
  }

  template {
    container {
      name   = "lakefuse"
      image  = local.image
      cpu    = var.cpu
      memory = var.memory
      # ${CONTAINER_APP_JOB_EXECUTION_NAME} names the execution: lakefuse expands
      # it, and every replica and retry of one execution names the same run.
      args = concat(
        ["run", "--lake", local.lake_url, "--run-id", "${var.name}-$${CONTAINER_APP_JOB_EXECUTION_NAME}"],
        var.extra_args,
        [local.spec_url],
      )
      env {
        name  = "AZURE_CLIENT_ID" # the identity DefaultAzureCredential uses
        value = azurerm_user_assigned_identity.job.client_id
      }
      env {
        name  = "LAKEFUSE_LOG_FORMAT"
        value = "json"
      }
      env {
        name  = "LAKEFUSE_SHARDS"
        value = tostring(var.shards)
      }
      env {
        name  = "LAKEFUSE_TIMEZONE"
        value = "UTC" # the schedule's cron is in UTC
      }
    }
  }
}
