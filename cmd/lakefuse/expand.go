package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/jobs"
)

// expand fills placeholders in --run-id and --filter values, for scheduled jobs
// whose container has no shell to compute them:
//
//	${VAR}        an environment variable, e.g. ${AWS_BATCH_JOB_ID}: the same for
//	              every retry of one execution, so a retry resumes that run (in
//	              an AWS Batch array job, the parent's id: every child, a shard,
//	              names the same run)
//	{today}       the date, 2006-01-02, of the scheduled time (datesFrom)
//	{yesterday}   the day before it
func expand(s string, now time.Time) string {
	s = os.Expand(s, func(name string) string {
		v := os.Getenv(name)
		if name == "AWS_BATCH_JOB_ID" && os.Getenv("AWS_BATCH_JOB_ARRAY_INDEX") != "" {
			v, _, _ = strings.Cut(v, ":") // a child's id is <parent id>:<index>
		}
		return v
	})
	return strings.NewReplacer(
		"{today}", now.Format("2006-01-02"),
		"{yesterday}", now.AddDate(0, 0, -1).Format("2006-01-02"),
	).Replace(s)
}

// datesFrom is the time the dates of --run-id and --filter are taken from, and
// where it came from (for the manifest): LAKEFUSE_SCHEDULED_TIME (RFC 3339),
// which the schedulers set from the time the run was scheduled for
// (EventBridge Scheduler's <aws.scheduler.scheduled-time>; see terraform/), so a
// retry after midnight still reads the scheduled day; else the scheduled time in
// a Kubernetes CronJob's Job name (LAKEFUSE_CRONJOB_JOB_NAME, cronJobTime); else
// now. It is in LAKEFUSE_TIMEZONE (an IANA name, the schedule's time zone), else
// UTC.
func datesFrom() (*jobs.DatesFrom, error) {
	d := &jobs.DatesFrom{Time: time.Now(), Source: "start"}
	if s := os.Getenv("LAKEFUSE_SCHEDULED_TIME"); s != "" {
		var err error
		if d.Time, err = time.Parse(time.RFC3339, s); err != nil {
			return nil, fmt.Errorf("%w: LAKEFUSE_SCHEDULED_TIME %q: want an RFC 3339 time such as 2026-11-27T02:00:00Z", errUsage, s)
		}
		d.Source = "LAKEFUSE_SCHEDULED_TIME"
	} else if name := os.Getenv("LAKEFUSE_CRONJOB_JOB_NAME"); name != "" {
		if at, ok := cronJobTime(name, d.Time); ok {
			d.Time, d.Source = at, "LAKEFUSE_CRONJOB_JOB_NAME"
		}
	}
	loc := time.UTC
	if name := os.Getenv("LAKEFUSE_TIMEZONE"); name != "" {
		var err error
		if loc, err = time.LoadLocation(name); err != nil {
			return nil, fmt.Errorf("%w: LAKEFUSE_TIMEZONE %q: want an IANA time zone such as Europe/Paris", errUsage, name)
		}
	}
	d.Time = d.Time.In(loc)
	return d, nil
}

// cronJobTime is the time a Kubernetes CronJob scheduled the Job it named: the
// controller names each Job <cronjob>-<scheduled time in minutes since the
// epoch>, the same name for every retry of the Job's pods. A name without such a
// suffix (a Job created by hand) is not one, nor is a suffix that would put the
// schedule before 2000 or after now.
func cronJobTime(name string, now time.Time) (time.Time, bool) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return time.Time{}, false
	}
	minutes, err := strconv.ParseInt(name[i+1:], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	t := time.Unix(minutes*60, 0)
	if t.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) || t.After(now.Add(time.Minute)) {
		return time.Time{}, false
	}
	return t, true
}

// expandAll expands the placeholders of a run id (when not nil) and of the
// filters' values in place, all at one scheduled time (datesFrom), which it
// returns for the manifest: a run started a moment before midnight cannot name
// one day and read another.
func expandAll(runID *string, filters map[string]string) (*jobs.DatesFrom, error) {
	d, err := datesFrom()
	if err != nil {
		return nil, err
	}
	if runID != nil {
		*runID = expand(*runID, d.Time)
	}
	for k, v := range filters {
		filters[k] = expand(v, d.Time)
	}
	return d, nil
}
