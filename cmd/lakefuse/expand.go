package main

import (
	"os"
	"strings"
	"time"
)

// expand fills placeholders in --run-id and --filter values, for scheduled jobs
// whose container has no shell to compute them:
//
//	${VAR}        an environment variable, e.g. ${AWS_BATCH_JOB_ID}: the same for
//	              every retry of one execution, so a retry resumes that run (in
//	              an AWS Batch array job, the parent's id: every child, a shard,
//	              names the same run)
//	{today}       the UTC date, 2006-01-02
//	{yesterday}   the UTC date a day ago
func expand(s string, now time.Time) string {
	s = os.Expand(s, func(name string) string {
		v := os.Getenv(name)
		if name == "AWS_BATCH_JOB_ID" && os.Getenv("AWS_BATCH_JOB_ARRAY_INDEX") != "" {
			v, _, _ = strings.Cut(v, ":") // a child's id is <parent id>:<index>
		}
		return v
	})
	now = now.UTC()
	return strings.NewReplacer(
		"{today}", now.Format("2006-01-02"),
		"{yesterday}", now.AddDate(0, 0, -1).Format("2006-01-02"),
	).Replace(s)
}
