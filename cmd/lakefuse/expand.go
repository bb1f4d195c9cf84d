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
//	              every retry of one execution, so a retry resumes that run
//	{today}       the UTC date, 2006-01-02
//	{yesterday}   the UTC date a day ago
func expand(s string, now time.Time) string {
	s = os.Expand(s, os.Getenv)
	now = now.UTC()
	return strings.NewReplacer(
		"{today}", now.Format("2006-01-02"),
		"{yesterday}", now.AddDate(0, 0, -1).Format("2006-01-02"),
	).Replace(s)
}
