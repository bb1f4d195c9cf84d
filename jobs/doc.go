// Package jobs owns the job spec (YAML, strictly decoded), its validation, the plan
// (files, rows and schemas per modality, checked before heavy work) and the runner
// that wires lake → align → fusion → eval → lake with bounded concurrency:
//
//	plan ─► scan ─► bucket ─► align ─► fit ─► predict ─► evaluate ─► write ─► commit
//
// jobs never parses Parquet bytes (lake does) and never computes a metric itself
// (eval does).
package jobs
