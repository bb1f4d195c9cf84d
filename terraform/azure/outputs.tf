output "lake_url" {
  description = "The lake as a lakefuse URL."
  value       = local.lake_url
}

output "image" {
  description = "Push the image here."
  value       = local.image
}

output "job_name" {
  description = "The Container Apps job (az containerapp job start --name <name> --resource-group <group>)."
  value       = one(azurerm_container_app_job.lakefuse[*].name)
}

output "job_identity_client_id" {
  description = "The identity lakefuse runs as."
  value       = azurerm_user_assigned_identity.job.client_id
}
