// Package lake owns everything lakefuse does with object storage: opening a lake by
// URL (file://, mem://, s3:// including MinIO-style servers, gs://, azblob://), the
// dataset layout (modality=<name>/ Hive partitions), reading Parquet columns page by
// page into typed slices, writing Parquet with analyst-friendly settings, and the run
// commit protocol (manifest.json, then _SUCCESS written conditionally).
//
// It knows nothing about fusion or metrics: callers describe which columns they want
// and get typed columns back.
package lake
