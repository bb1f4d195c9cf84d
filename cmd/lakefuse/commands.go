package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/examples"
	"github.com/lakefuse/lakefuse/internal/errkind"
	"github.com/lakefuse/lakefuse/internal/mfeat"
	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
	"github.com/lakefuse/lakefuse/shard"
	"github.com/lakefuse/lakefuse/synth"
)

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("lakefuse "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// helpError is -h or --help on a subcommand: main prints the usage it carries to
// standard output and exits 0.
type helpError struct{ usage string }

func (e *helpError) Error() string { return e.usage }

// parse parses a subcommand's flags, which may come before, after or between its
// positional arguments (what describes them, for the usage and the error when
// there are not wantArgs of them; -1: any number). After it, fs.Args() holds the
// positionals.
func parse(fs *flag.FlagSet, args []string, wantArgs int, what string) error {
	var usage strings.Builder
	fs.SetOutput(&usage)
	fs.Usage = func() {
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			fmt.Fprintf(&usage, "usage: %s ARGS\n  ARGS: %s\n", fs.Name(), what)
			return
		}
		fmt.Fprintf(&usage, "usage: %s [flags] ARGS\n  ARGS: %s\nflags:\n", fs.Name(), what)
		fs.PrintDefaults()
	}
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return &helpError{usage.String()}
			}
			return fmt.Errorf("%w: %s", errUsage, strings.TrimSpace(usage.String())) // the flag package's message, then the usage
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" { // everything after -- is positional
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	_ = fs.Parse(append([]string{"--"}, pos...)) // fs.Args() = the positionals
	if wantArgs >= 0 && fs.NArg() != wantArgs {
		return fmt.Errorf("%w: lakefuse %s takes %s", errUsage, strings.TrimPrefix(fs.Name(), "lakefuse "), what)
	}
	return nil
}

// filterFlag collects --filter k=v partition filters, which override the spec's;
// their placeholders are expanded later, with the run id's (expandAll).
func filterFlag(fs *flag.FlagSet) map[string]string {
	filters := map[string]string{}
	fs.Func("filter", "partition filter k=v, overriding the spec's (repeatable); ${VAR}, {today} and {yesterday} are expanded", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want k=v, got %q", s)
		}
		filters[k] = v
		return nil
	})
	return filters
}

// loadRunSpec loads the spec of run and score with the command line's dataset
// override (if any) and partition filters.
func loadRunSpec(ctx context.Context, location, dataset string, filters map[string]string) (*jobs.Spec, error) {
	spec, err := jobs.LoadSpec(ctx, location)
	if err != nil {
		return nil, err
	}
	if dataset != "" {
		if err := spec.SetDataset(dataset); err != nil {
			return nil, err
		}
	}
	if err := applyFilters(spec, filters); err != nil {
		return nil, err
	}
	return spec, nil
}

func applyFilters(spec *jobs.Spec, filters map[string]string) error {
	if len(filters) == 0 {
		return nil
	}
	for k, v := range filters {
		if err := lake.CheckPartition(k, v); err != nil {
			return fmt.Errorf("--filter: %w", err)
		}
	}
	merged := map[string]string{}
	for k, v := range spec.Filters {
		merged[k] = v
	}
	for k, v := range filters {
		merged[k] = v
	}
	spec.Filters = merged
	return nil
}

// errRunTimeout is the cause of a run stopped by --timeout.
var errRunTimeout = errkind.New(errkind.Transient, "the run exceeded --timeout")

// timeoutFlags adds --io-timeout and --timeout.
func timeoutFlags(fs *flag.FlagSet) (ioTimeout, timeout *time.Duration) {
	ioTimeout = fs.Duration("io-timeout", 2*time.Minute, "cancel and retry a storage request that makes no progress for this long; after the retries, exit 4")
	timeout = fs.Duration("timeout", 0, "stop the whole run after this long, committing nothing, and exit 4 (0: no limit)")
	return ioTimeout, timeout
}

// partitionFlag adds --partition.
func partitionFlag(fs *flag.FlagSet) *string {
	return fs.String("partition", "", "how a run larger than its memory budget is grouped: range (key ranges read straight from the lake; its footers must bound each row group's keys) or bucket (bucket files spilled to --spill-dir); default: key ranges where the footers allow them")
}

// spillDirFlag adds --spill-dir.
func spillDirFlag(fs *flag.FlagSet) *string {
	return fs.String("spill-dir", "", "local folder for the bucket files of a run larger than its memory budget (default: the temp dir); its free space is checked first")
}

// shardFlag adds --shard.
func shardFlag(fs *flag.FlagSet) *string {
	return fs.String("shard", "", "run as shard INDEX/COUNT of a sharded run (default: from AWS_BATCH_JOB_ARRAY_INDEX, JOB_COMPLETION_INDEX or CLOUD_RUN_TASK_INDEX, with the count from CLOUD_RUN_TASK_COUNT, LAKEFUSE_SHARDS or the spec's resources.shards)")
}

// shardIdentity is the process's shard: --shard, else a batch engine's
// environment; nil for a run of one process.
func shardIdentity(flagValue string, spec *jobs.Spec) (*shard.Identity, error) {
	if flagValue != "" {
		id, err := shard.Parse(flagValue)
		return &id, err
	}
	id, ok, err := shard.FromEnv(os.Getenv, spec.Resources.Shards)
	switch {
	case err != nil:
		return nil, err
	case ok:
		return &id, nil
	case spec.Resources.Shards > 0:
		return nil, fmt.Errorf("%w: the spec's resources.shards is %d but this process has no shard index: give --shard INDEX/%d, or start it as an array job (AWS Batch, a Kubernetes Indexed Job, Cloud Run tasks)", errUsage, spec.Resources.Shards, spec.Resources.Shards)
	}
	return nil, nil
}

// memoryFlag adds --memory.
func memoryFlag(fs *flag.FlagSet) *string {
	return fs.String("memory", "", "memory budget, e.g. 512MiB or 8GiB (default: spec resources.memory, else 75% of the cgroup limit or of physical memory)")
}

// withTimeout runs job under --timeout, naming the limit if it was hit.
func withTimeout(ctx context.Context, timeout time.Duration, job func(context.Context) (*jobs.Result, error)) (*jobs.Result, error) {
	if timeout <= 0 {
		return job(ctx)
	}
	tctx, cancel := context.WithTimeoutCause(ctx, timeout, errRunTimeout)
	defer cancel()
	res, err := job(tctx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(tctx), errRunTimeout) {
		return nil, fmt.Errorf("%w (%s): nothing was committed: %v", errRunTimeout, timeout, err)
	}
	return res, err
}

func cmdScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("score")
	models := fs.String("models", "", "saved models: a run (lake URL of its prefix), its models/ folder, or one model file (required)")
	lakeURL := fs.String("lake", "", "lake URL; overrides the spec's lake")
	runID := fs.String("run-id", "", "run id of the scores (default: <name>-score-<UTC time>)")
	dataset := fs.String("dataset", "", "dataset folder; overrides the spec's")
	filters := filterFlag(fs)
	ioTimeout, timeout := timeoutFlags(fs)
	memory, spillDir, partition := memoryFlag(fs), spillDirFlag(fs), partitionFlag(fs)
	shardArg := shardFlag(fs)
	if err := parse(fs, args, 1, "one SPEC (a file or a lake URL)"); err != nil {
		return err
	}
	if *models == "" {
		return fmt.Errorf("%w: --models is required", errUsage)
	}
	dates, err := expandAll(runID, filters)
	if err != nil {
		return err
	}
	spec, err := loadRunSpec(ctx, fs.Arg(0), *dataset, filters)
	if err != nil {
		return err
	}
	id, err := shardIdentity(*shardArg, spec)
	if err != nil {
		return err
	}
	switch {
	case *runID == "" && id != nil:
		// Every shard must name the same run: derive it from what they share.
		sum := sha256.Sum256([]byte(spec.Hash() + "\x00" + *models))
		*runID = spec.Name + "-score-" + hex.EncodeToString(sum[:6])
	case *runID == "":
		*runID = spec.Name + "-score-" + time.Now().UTC().Format("20060102T150405Z")
	}
	res, err := withProgress(jobs.Options{Lake: *lakeURL, RunID: *runID, IOTimeout: *ioTimeout, Memory: *memory, SpillDir: *spillDir, Partition: *partition, Shard: id, DatesFrom: dates}, stderr, func(opts jobs.Options) (*jobs.Result, error) {
		return withTimeout(ctx, *timeout, func(ctx context.Context) (*jobs.Result, error) { return jobs.Score(ctx, spec, opts, *models) })
	})
	if err != nil {
		return err
	}
	printResult(stdout, res)
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run")
	lakeURL := fs.String("lake", "", "lake URL; overrides the spec's lake")
	runID := fs.String("run-id", "", "run id; overrides the spec's run_id (default: <name>-<spec hash>); ${VAR}, {today} and {yesterday} are expanded")
	dataset := fs.String("dataset", "", "dataset folder; overrides the spec's (e.g. each dataset of a lakefuse synth sweep)")
	filters := filterFlag(fs)
	ioTimeout, timeout := timeoutFlags(fs)
	memory, spillDir, partition := memoryFlag(fs), spillDirFlag(fs), partitionFlag(fs)
	shardArg := shardFlag(fs)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile to this file")
	traceFile := fs.String("trace", "", "write an execution trace (go tool trace) to this file")
	if err := parse(fs, args, 1, "one SPEC (a file or a lake URL)"); err != nil {
		return err
	}
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	dates, err := expandAll(runID, filters)
	if err != nil {
		return err
	}
	spec, err := loadRunSpec(ctx, fs.Arg(0), *dataset, filters)
	if err != nil {
		return err
	}
	id, err := shardIdentity(*shardArg, spec)
	if err != nil {
		return err
	}
	res, err := withProgress(jobs.Options{Lake: *lakeURL, RunID: *runID, IOTimeout: *ioTimeout, Memory: *memory, SpillDir: *spillDir, Partition: *partition, Shard: id, DatesFrom: dates}, stderr, func(opts jobs.Options) (*jobs.Result, error) {
		return withTimeout(ctx, *timeout, func(ctx context.Context) (*jobs.Result, error) { return jobs.Run(ctx, spec, opts) })
	})
	if err != nil {
		return err
	}
	printResult(stdout, res)
	return nil
}

// runJob runs a spec with logging and progress wired to stderr.
func runJob(ctx context.Context, spec *jobs.Spec, opts jobs.Options, stderr io.Writer) (*jobs.Result, error) {
	return withProgress(opts, stderr, func(opts jobs.Options) (*jobs.Result, error) { return jobs.Run(ctx, spec, opts) })
}

// withProgress wires logging and progress to stderr for one job: bars on a
// terminal, structured log lines otherwise.
func withProgress(opts jobs.Options, stderr io.Writer, job func(jobs.Options) (*jobs.Result, error)) (*jobs.Result, error) {
	log := newLogger(stderr)
	prog := newProgress(stderr, log)
	if prog.tty {
		// On a terminal the bars say it all; keep warnings and errors only.
		opts.Logger = nil
	} else {
		opts.Logger = log
	}
	opts.Progress = prog.update
	res, err := job(opts)
	prog.finish()
	return res, err
}

func cmdValidate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("validate")
	lakeURL := fs.String("lake", "", "also check the spec against this lake (read only): files, columns, patterns")
	if err := parse(fs, args, 1, "one SPEC"); err != nil {
		return err
	}
	spec, err := jobs.LoadSpec(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if *lakeURL != "" {
		l, err := lake.OpenWith(ctx, *lakeURL, &lake.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer l.Close()
		p, err := jobs.MakePlan(ctx, l, spec)
		if err != nil {
			return err
		}
		// A pattern that matches one column is most often a typo (f[0-9] for
		// f[0-9]+): say so, with what it matched.
		for _, sp := range p.Sources() {
			if len(sp.Scalar) == 1 && sp.Kind == "features" {
				fmt.Fprintf(stdout, "%s: warning: modality %q: features.columns matches one column only (%s): a typo in the pattern?\n", fs.Arg(0), sp.Name, sp.Scalar[0])
			}
		}
		fmt.Fprintf(stdout, "%s: checked against %s: every modality has files and its columns\n", fs.Arg(0), l)
	}
	id := spec.RunID
	if id == "" {
		id = spec.Name + "-<hash of the spec and the input files> (lakefuse plan shows it)"
	}
	fmt.Fprintf(stdout, "%s: valid: job %q, %s, %s, run id %s\n",
		fs.Arg(0), spec.Name, jobs.Plural(len(spec.Modalities), "modality", "modalities"), jobs.Plural(len(spec.Strategies), "strategy", "strategies"), id)
	return nil
}

func cmdPlan(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("plan")
	lakeURL := fs.String("lake", "", "lake URL; overrides the spec's lake")
	if err := parse(fs, args, 1, "one SPEC"); err != nil {
		return err
	}
	spec, err := jobs.LoadSpec(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	url, err := jobs.LakeURL(spec, *lakeURL)
	if err != nil {
		return err
	}
	l, err := lake.OpenWith(ctx, url, &lake.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer l.Close()
	p, err := jobs.MakePlan(ctx, l, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "job %s on %s, dataset %s: plan checked\n\n", spec.Name, l, spec.Dataset)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tKIND\tFILES\tROWS\tBYTES\tCOLUMNS")
	for _, sp := range p.Sources() {
		cols := []string{sp.Request.Key}
		for _, c := range []string{sp.Request.Label, sp.Request.Split, sp.Vector} {
			if c != "" {
				cols = append(cols, c)
			}
		}
		if n := len(sp.Scalar); n > 0 {
			lo, hi := naturalRange(sp.Scalar)
			cols = append(cols, fmt.Sprintf("%d numeric (%s…%s)", n, lo, hi))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", sp.Name, sp.Kind, len(sp.Files), sp.TotalRows(), sp.Bytes, strings.Join(cols, ", "))
	}
	tw.Flush()
	snap, err := jobs.InputSnapshot(ctx, l, spec)
	if err != nil {
		return err
	}
	spec.SetSnapshot(snap)
	fmt.Fprintf(stdout, "\nrun id %s → %s\n", jobs.RunID(spec, ""), lake.KeyURL(l.String(), lake.Join(spec.Output, jobs.RunID(spec, ""))))
	return nil
}

func cmdImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("import")
	lakeURL := fs.String("lake", "", "lake URL (required)")
	var o jobs.ImportOptions
	type table struct{ modality, file string }
	var tables []table
	fs.StringVar(&o.Dataset, "dataset", "", "dataset folder (required)")
	fs.Func("modality", "NAME=FILE: write FILE as the modality=<NAME> table (repeatable); NAME alone: the one FILE argument", func(s string) error {
		name, file, _ := strings.Cut(s, "=")
		if name == "" {
			return fmt.Errorf("want NAME=FILE or NAME, got %q", s)
		}
		tables = append(tables, table{name, file})
		return nil
	})
	labels := fs.String("labels", "", "FILE: write FILE as the labels/ table")
	fs.StringVar(&o.Key, "key", "entity_id", "key column; every file must have it")
	fs.BoolVar(&o.RowNumberKey, "row-number-key", false, "a CSV without a key column: number its rows (0-based) as the key")
	fs.StringVar(&o.Prefix, "prefix", "", "prefix for CSV column names (for headers that are numbers)")
	fs.BoolVar(&o.LabelLast, "label-last", false, "the last CSV column is the class label (written as \"label\")")
	fs.BoolVar(&o.DropLast, "drop-last", false, "ignore the last CSV column")
	fs.StringVar(&o.Part, "part", "", "part file name (default part-00000.parquet)")
	parts := map[string]string{}
	fs.Func("partition", "extra Hive partition k=v (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" || v == "" {
			return fmt.Errorf("want k=v, got %q", s)
		}
		parts[k] = v
		return nil
	})
	if err := parse(fs, args, -1, "none with --modality NAME=FILE and --labels FILE; or one FILE (.csv or .parquet) for a single --modality NAME"); err != nil {
		return err
	}
	if *lakeURL == "" || o.Dataset == "" {
		return fmt.Errorf("%w: --lake and --dataset are required", errUsage)
	}
	// The older form: --modality NAME FILE.
	for i, t := range tables {
		if t.file == "" {
			if fs.NArg() != 1 || len(tables) != 1 {
				return fmt.Errorf("%w: --modality %s without =FILE takes exactly one FILE argument (or give --modality %s=FILE)", errUsage, t.modality, t.modality)
			}
			tables[i].file = fs.Arg(0)
		}
	}
	if fs.NArg() > 0 && (len(tables) != 1 || tables[0].file != fs.Arg(0)) {
		return fmt.Errorf("%w: %s: a FILE argument goes with a single --modality NAME; give --modality NAME=FILE or --labels FILE", errUsage, fs.Arg(0))
	}
	if len(tables) == 0 && *labels == "" {
		return fmt.Errorf("%w: set --modality NAME=FILE (repeatable) or --labels FILE", errUsage)
	}
	o.Partitions = parts
	l, err := lake.Open(ctx, *lakeURL)
	if err != nil {
		return err
	}
	defer l.Close()
	if *labels != "" {
		tables = append(tables, table{"", *labels})
	}
	for _, t := range tables {
		to := o
		to.Modality, to.Labels = t.modality, t.modality == ""
		key, rows, err := importFile(ctx, l, t.file, to)
		if err != nil {
			return fmt.Errorf("%s: %w", t.file, err)
		}
		fmt.Fprintf(stdout, "wrote %s to %s\n", jobs.Plural(rows, "row", "rows"), lake.KeyURL(l.String(), key))
	}
	return nil
}

// importFile imports one CSV or Parquet file (by its extension).
func importFile(ctx context.Context, l *lake.Lake, path string, o jobs.ImportOptions) (string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	defer f.Close()
	if strings.HasSuffix(strings.ToLower(path), ".parquet") {
		st, err := f.Stat()
		if err != nil {
			return "", 0, err
		}
		return jobs.ImportParquet(ctx, l, f, st.Size(), o)
	}
	return jobs.ImportCSV(ctx, l, f, o)
}

func cmdInspect(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("inspect")
	if err := parse(fs, args, 1, "one lake URL (a dataset, a table or any prefix under it)"); err != nil {
		return err
	}
	l, err := lake.OpenWith(ctx, fs.Arg(0), &lake.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer l.Close()
	objs, err := l.List(ctx, "")
	if err != nil {
		return err
	}
	var files []lake.Object
	var other int
	for _, o := range objs {
		if strings.HasSuffix(o.Key, ".parquet") {
			files = append(files, o)
		} else {
			other++
		}
	}
	infos := make([]*lake.FileInfo, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, f := range files {
		g.Go(func() error {
			info, err := l.Inspect(gctx, lake.DataFile{Key: f.Key, Size: f.Size})
			infos[i] = info
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Group files by their folder (the partition path).
	type folder struct {
		files, rowGroups int
		rows, bytes      int64
		schema           string
	}
	folders := map[string]*folder{}
	for i, f := range files {
		dir := "."
		if j := strings.LastIndex(f.Key, "/"); j >= 0 {
			dir = f.Key[:j]
		}
		fo := folders[dir]
		if fo == nil {
			fo = &folder{}
			var cols []string
			columns := slices.Clone(infos[i].Columns)
			slices.SortStableFunc(columns, func(a, b lake.FileColumn) int { return naturalCompare(a.Name, b.Name) })
			for _, c := range columns {
				cols = append(cols, c.Name+" "+c.Type)
			}
			if len(cols) > 8 {
				cols = append(cols[:8], fmt.Sprintf("… %d more", len(cols)-8))
			}
			fo.schema = strings.Join(cols, ", ")
			folders[dir] = fo
		}
		fo.files++
		fo.rowGroups += infos[i].RowGroups
		fo.rows += infos[i].Rows
		fo.bytes += f.Size
	}
	dirs := make([]string, 0, len(folders))
	for d := range folders {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	fmt.Fprintf(stdout, "%s: %d parquet files, %d other objects\n\n", l, len(files), other)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tFILES\tROW GROUPS\tROWS\tBYTES\tSCHEMA")
	for _, d := range dirs {
		fo := folders[d]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", d, fo.files, fo.rowGroups, fo.rows, fo.bytes, fo.schema)
	}
	return tw.Flush()
}

const demoLake = "file:///tmp/lakefuse-demo"

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo")
	lakeURL := fs.String("lake", demoLake, "lake to import the demo data into and run on")
	missing := fs.Float64("missing", 0, "leave out this fraction of each view's rows (seeded), to see fusion with missing modalities")
	if err := parse(fs, args, 0, "no arguments"); err != nil {
		return err
	}
	if *missing < 0 || *missing >= 1 {
		return fmt.Errorf("%w: --missing %v: want a fraction in [0, 1)", errUsage, *missing)
	}
	spec, err := jobs.ParseSpec(examples.Mfeat, "examples/mfeat.yaml")
	if err != nil {
		return err
	}
	if *missing > 0 {
		spec.Dataset = fmt.Sprintf("mfeat-missing-%02.0f", *missing*100)
	}
	l, err := lake.Open(ctx, *lakeURL)
	if err != nil {
		return err
	}
	defer l.Close()
	if _, err := l.DiscoverDataset(ctx, spec.Dataset, nil); err != nil {
		fmt.Fprintf(stdout, "importing the UCI multiple-features digits (6 views × 2,000 rows, %.0f%% of each view left out) into %s/%s\n", *missing*100, l, spec.Dataset)
		if err := mfeat.ImportMissing(ctx, l, spec.Dataset, *missing, 1); err != nil {
			return err
		}
	}
	runID := "demo-" + time.Now().UTC().Format("20060102T150405Z")
	res, err := runJob(ctx, spec, jobs.Options{Lake: *lakeURL, RunID: runID}, stderr)
	if err != nil {
		return err
	}
	printResult(stdout, res)
	if strings.HasPrefix(*lakeURL, "file://") {
		dir := strings.TrimPrefix(strings.SplitN(*lakeURL, "?", 2)[0], "file://")
		fmt.Fprintf(stdout, "\nQuery the scores with DuckDB:\n  SELECT strategy, avg((pred = label)::INT) AS accuracy FROM read_parquet('%s/%s/scores/*/*.parquet', hive_partitioning = true) WHERE split = 'test' GROUP BY ALL;\n",
			dir, res.Prefix)
	}
	return nil
}

// printResult prints the strategy table and where the outputs are.
func printResult(w io.Writer, res *jobs.Result) {
	rep := res.Report
	if sh := res.Shard; sh != nil && rep == nil {
		switch {
		case res.Completed:
			fmt.Fprintf(w, "shard %s: run %s is committed, with this shard's rows\n", sh.Identity, res.RunID)
		case sh.Finalized:
			fmt.Fprintf(w, "shard %s: done; every shard has finished and another is finalizing run %s\n", sh.Identity, res.RunID)
		default:
			fmt.Fprintf(w, "shard %s: done; run %s waits for %d more shard(s), the last of which commits it\n", sh.Identity, res.RunID, sh.Waiting)
		}
		return
	}
	if sh := res.Shard; sh != nil {
		fmt.Fprintf(w, "shard %s: the last to finish: merged the %d shards' states and committed the run\n", sh.Identity, sh.Count)
	}
	if res.Completed {
		fmt.Fprintf(w, "run %s: finished publishing attempt %s, which had claimed the commit and was interrupted\n", res.RunID, res.Attempt)
	}
	fmt.Fprintf(w, "\nrun %s: %d entities scored", res.RunID, rep.Rows.Scored)
	for reason, n := range rep.Rows.Rejected {
		fmt.Fprintf(w, ", %d rejected (%s)", n, reason)
	}
	fmt.Fprintln(w)
	split := "test"
	if _, ok := rep.Rows.BySplit["test"]; !ok {
		split = rep.Splits[0]
	}
	if split == "unlabelled" {
		fmt.Fprintf(w, "no labels: scores written, nothing to evaluate\n")
		fmt.Fprintf(w, "\noutputs: %s/\n", lake.KeyURL(res.Lake, res.Prefix))
		return
	}
	fmt.Fprintf(w, "\nmetrics on the %s split (%d rows):\n\n", split, rep.Rows.BySplit[split])
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STRATEGY\tTYPE\tACCURACY\t95% CI\tMACRO-F1\tLOG LOSS\tECE\tACC. WHERE PRESENT\tFIT S")
	rows := append([]eval.StrategyReport(nil), rep.Strategies...)
	sort.SliceStable(rows, func(i, j int) bool { return !rows[i].Baseline && rows[j].Baseline })
	for _, s := range rows {
		sr := s.Splits[split]
		if sr == nil {
			continue
		}
		whenPresent := ""
		if v, ok := sr.Metrics["accuracy_when_present"]; ok {
			whenPresent = fmt.Sprintf("%s (%d rows)", num(v), int(sr.Metrics["rows_when_present"]))
		}
		ci := ""
		if iv, ok := sr.Intervals["accuracy"]; ok {
			ci = fmt.Sprintf("[%.4f, %.4f]", iv.Low, iv.High)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\n", s.Name, s.Type, num(sr.Metrics["accuracy"]), ci, num(sr.Metrics["f1_macro"]),
			num(sr.Metrics["log_loss"]), num(sr.Metrics["ece"]), whenPresent, s.FitSeconds)
	}
	tw.Flush()
	if rep.BestBaseline != "" {
		how := ""
		if c := rep.BaselineChoice; c != nil {
			how = ", by cross-validated accuracy"
			if c.Tie {
				how += ": a tie, decided by cross-validated log loss"
			}
		}
		fmt.Fprintf(w, "\nagainst the best single modality, %s (chosen on the %s split%s), on the %s split:\n\n", rep.BestBaseline, rep.ChosenOn, how, split)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STRATEGY\tDIFFERENCE\t95% CI\tMCNEMAR P\tVERDICT")
		for _, s := range rows {
			sr := s.Splits[split]
			if sr == nil || sr.Comparison == nil {
				continue
			}
			c := sr.Comparison
			verdict := eval.VerdictWords[c.Verdict]
			fmt.Fprintf(tw, "%s\t%+.2f pts\t[%+.2f, %+.2f]\t%.3g\t%s\n", s.Name, 100*c.Difference, 100*c.Interval.Low, 100*c.Interval.High, c.McNemarP, verdict)
		}
		tw.Flush()
	}
	if gt := rep.Truth; gt != nil {
		_, fused, rule := gt.On(split)
		best, bestAcc := "", -1.0
		for _, s := range rep.Strategies {
			if sr := s.Splits[split]; sr != nil && !s.Baseline && sr.Metrics["accuracy"] > bestAcc {
				best, bestAcc = s.Name, sr.Metrics["accuracy"]
			}
		}
		fmt.Fprintf(w, "\nground truth (synthetic scenario %s): Bayes-optimal fused accuracy on %s %.4f ± %.4f", gt.Scenario, split, fused.VsLabels, fused.StdErr)
		if rule != nil {
			fmt.Fprintf(w, " (the split drifts; a perfect pre-drift model: %.4f)", rule.VsLabels)
		}
		if best != "" {
			fmt.Fprintf(w, "; the best strategy here, %s, %.4f", best, bestAcc)
		}
		fmt.Fprintln(w)
	}
	if o := rep.Overfit; o != nil {
		var flagged []string
		for _, s := range o.Strategies {
			if s.Overfit {
				flagged = append(flagged, fmt.Sprintf("%s %.4f / %.4f", s.Name, s.InSample, s.OutOfFold))
			}
		}
		fmt.Fprintf(w, "\nout of fold (%d folds of the %d training rows, report.html has every strategy): ", o.Folds, o.Rows)
		if len(flagged) == 0 {
			fmt.Fprintf(w, "no model is more than %.0f points more accurate in sample than out of fold\n", 100*o.Margin)
		} else {
			fmt.Fprintf(w, "more than %.0f points more accurate in sample than out of fold (overfitting): %s\n", 100*o.Margin, strings.Join(flagged, ", "))
		}
	}
	fmt.Fprintf(w, "\noutputs: %s/ (scores/, metrics/, models/, report.json, report.html, manifest.json, _SUCCESS)\n", lake.KeyURL(res.Lake, res.Prefix))
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}

func cmdReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("report")
	out := fs.String("out", "", "write the HTML here (default: standard output)")
	if err := parse(fs, args, -1, "one or more RUN_URLs (lake URLs of runs' folders, …/<output>/<run id>)"); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: lakefuse report takes one or more runs (lake URLs of run prefixes)", errUsage)
	}
	var reports []*eval.Report
	for _, run := range fs.Args() {
		l, err := lake.OpenWith(ctx, run, &lake.Options{ReadOnly: true})
		if errors.Is(err, lake.ErrNoLake) {
			return fmt.Errorf("%w: no run at %s: the folder does not exist (give the lake URL of a committed run's folder, …/runs/<run id>)", errUsage, lake.Redact(run))
		}
		if err != nil {
			return err
		}
		b, err := l.ReadAll(ctx, "report.json")
		l.Close()
		if errors.Is(err, lake.ErrNotFound) {
			return fmt.Errorf("%w: no run at %s: no report.json there (give the lake URL of a committed run's folder, …/runs/<run id>)", errUsage, lake.Redact(run))
		}
		if err != nil {
			return fmt.Errorf("run %s: %w", lake.Redact(run), err)
		}
		rep, err := eval.ReadReport(b)
		if err != nil {
			return fmt.Errorf("%w: run %s: report.json: %v", jobs.ErrInput, lake.Redact(run), err)
		}
		reports = append(reports, rep)
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if len(reports) == 1 {
		return reports[0].WriteHTML(w)
	}
	return eval.WriteComparisonHTML(w, reports)
}

func cmdVacuum(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("vacuum")
	olderThan := fs.Duration("older-than", 24*time.Hour, "only files last modified longer ago than this (an attempt younger than this may still be running)")
	apply := fs.Bool("apply", false, "delete the files listed (default: only list them)")
	if err := parse(fs, args, 1, "one OUTPUT_URL (the lake URL of the folder that holds the runs, e.g. s3://lake/runs)"); err != nil {
		return err
	}
	l, err := lake.OpenWith(ctx, fs.Arg(0), &lake.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer l.Close()
	res, err := l.Vacuum(ctx, "", *olderThan, time.Now(), *apply)
	if err != nil {
		return err
	}
	var bytes int64
	for _, it := range res.Items {
		bytes += it.Size
		fmt.Fprintf(stdout, "%s\t%d\t%s\n", it.Key, it.Size, it.Reason)
	}
	for _, p := range res.Pending {
		fmt.Fprintf(stdout, "# %s: a commit was claimed and not finished; rerun the job to finish it (its files are kept)\n", p)
	}
	verb := "would delete"
	if *apply {
		verb = "deleted"
	}
	fmt.Fprintf(stdout, "# %s looked at; %s %s, %d bytes, older than %s\n", jobs.Plural(res.Runs, "run", "runs"), verb, jobs.Plural(len(res.Items), "file", "files"), bytes, *olderThan)
	return nil
}

func cmdFinalize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("finalize")
	count := fs.Int("shards", 0, "the run's shard count (default: shard 0's state says)")
	ioTimeout, timeout := timeoutFlags(fs)
	if err := parse(fs, args, 1, "one RUN_URL (the lake URL of the run's folder, …/<output>/<run id>)"); err != nil {
		return err
	}
	res, err := withProgress(jobs.Options{IOTimeout: *ioTimeout}, stderr, func(opts jobs.Options) (*jobs.Result, error) {
		return withTimeout(ctx, *timeout, func(ctx context.Context) (*jobs.Result, error) { return jobs.Finalize(ctx, fs.Arg(0), *count, opts) })
	})
	if err != nil {
		return err
	}
	printResult(stdout, res)
	return nil
}

func cmdBucket(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bucket")
	lakeURL := fs.String("lake", "", "lake URL; overrides the spec's lake")
	buckets := fs.Int("buckets", 0, "key buckets of the rewritten tables (required; at least, and best a multiple of, the shard count of the runs that will read them)")
	to := fs.String("to", "", "dataset to write the bucketed tables to (required; a fresh name)")
	filters := filterFlag(fs)
	ioTimeout, timeout := timeoutFlags(fs)
	shardArg := shardFlag(fs)
	spillDir := fs.String("spill-dir", "", "local folder for the outputs being encoded (default: the temp dir); needs room for the largest input files, one per CPU")
	if err := parse(fs, args, 1, "one SPEC (a file or a lake URL)"); err != nil {
		return err
	}
	if *buckets < 1 || *to == "" {
		return fmt.Errorf("%w: --buckets N and --to DATASET are required", errUsage)
	}
	if _, err := expandAll(nil, filters); err != nil {
		return err
	}
	spec, err := jobs.LoadSpec(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if err := applyFilters(spec, filters); err != nil {
		return err
	}
	// Not the spec's resources.shards: that is the count of the runs, not of this rewrite.
	var id *shard.Identity
	if *shardArg != "" {
		v, err := shard.Parse(*shardArg)
		if err != nil {
			return err
		}
		id = &v
	} else if v, ok, err := shard.FromEnv(os.Getenv, 0); err != nil {
		return err
	} else if ok {
		id = &v
	}
	var res *jobs.BucketResult
	_, err = withProgress(jobs.Options{Lake: *lakeURL, IOTimeout: *ioTimeout, Shard: id, SpillDir: *spillDir}, stderr, func(opts jobs.Options) (*jobs.Result, error) {
		return withTimeout(ctx, *timeout, func(ctx context.Context) (*jobs.Result, error) {
			var err error
			res, err = jobs.Bucket(ctx, spec, opts, *buckets, *to)
			return nil, err
		})
	})
	if err != nil {
		return err
	}
	part := ""
	if id != nil {
		part = fmt.Sprintf(" (shard %s: every %d-th input file)", id, id.Count)
	}
	fmt.Fprintf(stdout, "bucketed %s%s of dataset %s into %s of %s (%s, %s), %s of %s\n",
		jobs.Plural(res.FilesRead, "file", "files"), part, res.From, jobs.Plural(res.FilesWritten, "file", "files"), lake.KeyURL(res.Lake, res.To),
		jobs.Plural(int(res.Rows), "row", "rows"), spill.FormatSize(res.BytesWritten), jobs.Plural(res.Buckets, "bucket", "buckets"), spec.Key)
	fmt.Fprintf(stdout, "run the job on it with dataset: %s; its shards then read only their own buckets when scoring\n", res.To)
	return nil
}

func cmdSynth(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("synth")
	lakeURL := fs.String("lake", "", "lake URL to write the dataset into (required)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "files generated and written at a time")
	if err := parse(fs, args, 1, "one scenario YAML file"); err != nil {
		return err
	}
	if *lakeURL == "" {
		return fmt.Errorf("%w: --lake is required", errUsage)
	}
	sc, err := synth.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	l, err := lake.Open(ctx, *lakeURL)
	if err != nil {
		return err
	}
	defer l.Close()
	for _, point := range sc.Points() {
		f, err := synth.Write(ctx, l, point, *workers)
		if err != nil {
			return err
		}
		printSynth(stdout, l, point, f)
	}
	return nil
}

func printSynth(stdout io.Writer, l *lake.Lake, sc *synth.Scenario, f *synth.File) {
	w := f.Written
	if f.Sweep != nil {
		fmt.Fprintf(stdout, "%s = %v:\n", f.Sweep.Parameter, f.Sweep.Value)
	}
	fmt.Fprintf(stdout, "wrote %s: %s in %s per table (labels/ and %s), scenario.json\n", lake.KeyURL(l.String(), sc.Dataset),
		jobs.Plural(int(w.Entities), "entity", "entities"), jobs.Plural(w.Files, "file", "files"), jobs.Plural(len(w.Modalities), "modality", "modalities"))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODALITY\tROWS\tMISSING\tDUPLICATE ROWS\tINVALID\tBAYES ACCURACY (WHERE PRESENT)")
	for i, m := range w.Modalities {
		r := f.Truth.Modalities[i]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.4f ± %.4f\n", m.Name, m.Rows, m.Missing, m.Duplicates, m.Invalid, r.Accuracy, r.StdErr)
	}
	tw.Flush()
	t := f.Truth
	fmt.Fprintf(stdout, "Bayes accuracy fused: %.4f ± %.4f with the scenario's missingness, %.4f ± %.4f with every modality; most frequent class %.4f (%d Monte Carlo samples)\n",
		t.FusedMissing.Accuracy, t.FusedMissing.StdErr, t.Fused.Accuracy, t.Fused.StdErr, t.MaxPrior, t.Samples)
}
