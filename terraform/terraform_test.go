// Package terraform holds the deployment configurations; this test checks them
// without providers (terraform init needs the network): it parses every .tf file
// with HCL and checks the rules a reviewer would.
package terraform

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/lakefuse/lakefuse/internal/testenv"
)

var environments = []string{"aws", "gcp", "azure"}

type module struct {
	files  map[string][]byte
	bodies []*hclsyntax.Body
}

func load(t *testing.T, dir string) *module {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	if len(paths) == 0 {
		t.Fatalf("no .tf files in %s", dir)
	}
	p := hclparse.NewParser()
	m := &module{files: map[string][]byte{}}
	for _, path := range paths {
		f, diags := p.ParseHCLFile(path)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", path, diags)
		}
		m.files[path] = f.Bytes
		m.bodies = append(m.bodies, f.Body.(*hclsyntax.Body))
	}
	for _, want := range []string{"main.tf", "variables.tf", "outputs.tf", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("%s lacks %s", dir, want)
		}
	}
	return m
}

// blocks returns the top-level blocks of a type (with labels, if given).
func (m *module) blocks(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range m.bodies {
		for _, blk := range b.Blocks {
			if blk.Type == typ && (len(labels) == 0 || slices.Equal(blk.Labels[:min(len(labels), len(blk.Labels))], labels)) {
				out = append(out, blk)
			}
		}
	}
	return out
}

// source is the text of an expression as written.
func (m *module) source(r hcl.Range) string {
	return string(m.files[r.Filename][r.Start.Byte:r.End.Byte])
}

// walk calls fn for every attribute in a body, nested blocks included.
func walk(body *hclsyntax.Body, fn func(*hclsyntax.Attribute, []string)) {
	var rec func(b *hclsyntax.Body, path []string)
	rec = func(b *hclsyntax.Body, path []string) {
		for _, a := range b.Attributes {
			fn(a, path)
		}
		for _, blk := range b.Blocks {
			rec(blk.Body, append(append([]string{}, path...), blk.Type))
		}
	}
	rec(body, nil)
}

func literalStrings(t *testing.T, e hclsyntax.Expression) []string {
	t.Helper()
	v, diags := e.Value(nil)
	if diags.HasErrors() {
		t.Fatalf("not a literal: %v", diags)
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, el := it.Element()
		out = append(out, el.AsString())
	}
	return out
}

func TestVariablesTypedDescribedAndDeclared(t *testing.T) {
	for _, env := range environments {
		t.Run(env, func(t *testing.T) {
			m := load(t, env)
			declared := map[string]bool{}
			for _, v := range m.blocks("variable") {
				name := v.Labels[0]
				declared[name] = true
				if _, ok := v.Body.Attributes["type"]; !ok {
					t.Errorf("variable %q has no type", name)
				}
				d, ok := v.Body.Attributes["description"]
				if !ok {
					t.Errorf("variable %q has no description", name)
				} else if val, _ := d.Expr.Value(nil); val.AsString() == "" {
					t.Errorf("variable %q has an empty description", name)
				}
			}
			locals := map[string]bool{}
			for _, l := range m.blocks("locals") {
				for name := range l.Body.Attributes {
					locals[name] = true
				}
			}
			used := 0
			for _, b := range m.bodies {
				walk(b, func(a *hclsyntax.Attribute, _ []string) {
					for _, tr := range a.Expr.Variables() {
						root := tr.RootName()
						if len(tr) < 2 {
							continue
						}
						attr, ok := tr[1].(hcl.TraverseAttr)
						if !ok {
							continue
						}
						switch {
						case root == "var" && !declared[attr.Name]:
							t.Errorf("%s: var.%s is not declared", a.SrcRange, attr.Name)
						case root == "local" && !locals[attr.Name]:
							t.Errorf("%s: local.%s is not declared", a.SrcRange, attr.Name)
						case root == "var":
							used++
						}
					}
				})
			}
			if used == 0 {
				t.Error("no variable is used")
			}
		})
	}
}

// writeActions are S3 actions that create, change or delete objects.
func isWrite(action string) bool {
	a := strings.ToLower(action)
	return a == "s3:*" || a == "*" || strings.HasPrefix(a, "s3:put") || strings.HasPrefix(a, "s3:delete") ||
		strings.HasPrefix(a, "s3:abortmultipart") || strings.HasPrefix(a, "s3:restore") || strings.HasPrefix(a, "s3:replicate")
}

func TestAWSJobWritesOnlyTheOutputPrefix(t *testing.T) {
	m := load(t, "aws")
	docs := m.blocks("data", "aws_iam_policy_document", "job")
	if len(docs) != 1 {
		t.Fatalf("want one aws_iam_policy_document.job, got %d", len(docs))
	}
	writes := 0
	for _, st := range docs[0].Body.Blocks {
		if st.Type != "statement" {
			continue
		}
		actions := literalStrings(t, st.Body.Attributes["actions"].Expr)
		resources := m.source(st.Body.Attributes["resources"].Expr.Range())
		if slices.ContainsFunc(actions, isWrite) {
			writes++
			if !strings.Contains(resources, "var.output_prefix") || strings.Contains(resources, "read_prefixes") {
				t.Errorf("statement with %v may write to %s: want only the output prefix", actions, resources)
			}
		}
		for _, a := range actions {
			if a == "*" || a == "s3:*" {
				t.Errorf("wildcard action %q", a)
			}
		}
	}
	if writes == 0 {
		t.Error("the job role cannot write its runs")
	}
	// Only the job role's policy may touch the lake.
	for _, d := range m.blocks("data", "aws_iam_policy_document") {
		if d.Labels[1] == "job" {
			continue
		}
		walk(d.Body, func(a *hclsyntax.Attribute, _ []string) {
			if a.Name == "actions" && slices.ContainsFunc(literalStrings(t, a.Expr), func(s string) bool { return strings.HasPrefix(s, "s3:") }) {
				t.Errorf("policy document %s grants S3 actions", d.Labels[1])
			}
		})
	}
}

func TestGCPJobWritesOnlyTheOutputPrefix(t *testing.T) {
	m := load(t, "gcp")
	writeRoles := []string{"roles/storage.objectUser", "roles/storage.objectCreator", "roles/storage.objectAdmin", "roles/storage.admin"}
	writes := 0
	for _, r := range m.blocks("resource", "google_storage_bucket_iam_member") {
		role, _ := r.Body.Attributes["role"].Expr.Value(nil)
		if !slices.Contains(writeRoles, role.AsString()) {
			continue
		}
		writes++
		var cond *hclsyntax.Block
		for _, b := range r.Body.Blocks {
			if b.Type == "condition" {
				cond = b
			}
		}
		if cond == nil {
			t.Errorf("%s grants %s on the whole bucket", r.Labels[1], role.AsString())
			continue
		}
		expr := m.source(cond.Body.Attributes["expression"].Expr.Range())
		if !strings.Contains(expr, "var.output_prefix") || strings.Contains(expr, "Bucket") {
			t.Errorf("%s: %s is conditioned on %s, want the output prefix only", r.Labels[1], role.AsString(), expr)
		}
	}
	if writes != 1 {
		t.Errorf("%d write grants, want 1 (the output prefix)", writes)
	}
}

func TestNoBucketIsPublic(t *testing.T) {
	aws := load(t, "aws")
	blocks := aws.blocks("resource", "aws_s3_bucket_public_access_block")
	if len(blocks) != len(aws.blocks("resource", "aws_s3_bucket")) {
		t.Error("every S3 bucket needs a public access block")
	}
	for _, b := range blocks {
		for _, attr := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
			a, ok := b.Body.Attributes[attr]
			if v, _ := a.Expr.Value(nil); !ok || !v.True() {
				t.Errorf("%s.%s must be true", b.Labels[1], attr)
			}
		}
	}
	for _, typ := range []string{"aws_s3_bucket_policy", "aws_s3_bucket_acl", "aws_s3_bucket_website_configuration"} {
		if len(aws.blocks("resource", typ)) > 0 {
			t.Errorf("%s can make the lake public", typ)
		}
	}
	gcp := load(t, "gcp")
	for _, b := range gcp.blocks("resource", "google_storage_bucket") {
		a, ok := b.Body.Attributes["public_access_prevention"]
		if v, _ := a.Expr.Value(nil); !ok || v.AsString() != "enforced" {
			t.Errorf("bucket %s: public_access_prevention must be \"enforced\"", b.Labels[1])
		}
	}
	for _, m := range []*module{aws, gcp} {
		for path, src := range m.files {
			for _, who := range []string{"allUsers", "allAuthenticatedUsers", `"Principal": "*"`, `identifiers = ["*"]`} {
				if strings.Contains(string(src), who) {
					t.Errorf("%s grants %s", path, who)
				}
			}
		}
	}
}

func TestTerraformFmt(t *testing.T) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		testenv.Missing(t, "terraform is not on PATH: CI checks the formatting with it (terraform 1.11)")
	}
	out, err := exec.Command(bin, "fmt", "-check", "-recursive", "-diff", ".").CombinedOutput()
	if err != nil {
		t.Errorf("terraform fmt -check -recursive: %v\n%s", err, out)
	}
}

func TestKubernetesManifests(t *testing.T) {
	paths, _ := filepath.Glob("../deploy/k8s/*.yaml")
	if len(paths) < 2 {
		t.Fatalf("manifests: %v", paths)
	}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(raw), "\n---\n") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			kind, _ := obj["kind"].(string)
			if kind != "Job" && kind != "CronJob" {
				continue
			}
			spec := obj["spec"].(map[string]any)
			if kind == "CronJob" {
				spec = spec["jobTemplate"].(map[string]any)["spec"].(map[string]any)
			}
			if kind == "Job" && spec["completionMode"] != "Indexed" {
				t.Errorf("%s: the Job variant should be Indexed", path)
			}
			pod := spec["template"].(map[string]any)["spec"].(map[string]any)
			if pod["securityContext"].(map[string]any)["runAsNonRoot"] != true {
				t.Errorf("%s: pods must run as non-root", path)
			}
			c := pod["containers"].([]any)[0].(map[string]any)
			args := c["args"].([]any)
			sc := c["securityContext"].(map[string]any)
			if args[0] != "run" || sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false {
				t.Errorf("%s: container args %v, security %v", path, args, sc)
			}
			if kind == "CronJob" {
				// The dates come from the time the CronJob scheduled the Job
				// (its name), in the CronJob's time zone.
				env := map[string]string{}
				for _, e := range c["env"].([]any) {
					e := e.(map[string]any)
					v, _ := e["value"].(string)
					env[e["name"].(string)] = v
				}
				zone, _ := obj["spec"].(map[string]any)["timeZone"].(string)
				if env["LAKEFUSE_CRONJOB_JOB_NAME"] != "$(JOB_NAME)" || zone == "" || env["LAKEFUSE_TIMEZONE"] != zone {
					t.Errorf("%s: the CronJob should pass its Job name (LAKEFUSE_CRONJOB_JOB_NAME=$(JOB_NAME)) and its timeZone %q (LAKEFUSE_TIMEZONE %q)", path, zone, env["LAKEFUSE_TIMEZONE"])
				}
			}
			rules := spec["podFailurePolicy"].(map[string]any)["rules"].([]any)
			// A disrupted pod (evicted, preempted) is ignored before any exit
			// code is read: killed after its grace period it exits 137.
			first := rules[0].(map[string]any)
			if conds, _ := first["onPodConditions"].([]any); first["action"] != "Ignore" || len(conds) != 1 || conds[0].(map[string]any)["type"] != "DisruptionTarget" {
				t.Errorf("%s: the first pod failure rule should ignore DisruptionTarget, got %v", path, first)
			}
			codes := rules[1].(map[string]any)["onExitCodes"].(map[string]any)["values"]
			if !strings.Contains(strings.ReplaceAll(strings.Trim(strings.TrimSpace(yamlString(codes)), "[]"), " ", ""), "2,3,5,6,70,137") {
				t.Errorf("%s: pods should fail at once on exit codes 2, 3, 5, 6, 70 (a crash) and 137 (out of memory), got %v", path, codes)
			}
		}
	}
}

func yamlString(v any) string {
	b, _ := yaml.MarshalWithOptions(v, yaml.Flow(true))
	return string(b)
}

// The shard count reaches the engines: AWS Batch submits an array job of that
// size and tells each child the count (Batch does not); Cloud Run runs that many
// tasks; the Kubernetes Indexed Job's completions, parallelism and
// LAKEFUSE_SHARDS agree.
func TestShardCountWired(t *testing.T) {
	aws := load(t, "aws")
	def := aws.blocks("resource", "aws_batch_job_definition", "lakefuse")
	sched := aws.blocks("resource", "aws_scheduler_schedule", "nightly")
	if len(def) != 1 || len(sched) != 1 {
		t.Fatal("no job definition or schedule")
	}
	if src := aws.source(def[0].Body.Attributes["container_properties"].Expr.Range()); !strings.Contains(src, `name = "LAKEFUSE_SHARDS", value = tostring(var.shards)`) {
		t.Error("the AWS job definition does not set LAKEFUSE_SHARDS from var.shards")
	}
	found := false
	walk(sched[0].Body, func(a *hclsyntax.Attribute, path []string) {
		if a.Name == "input" {
			found = strings.Contains(aws.source(a.Expr.Range()), "ArrayProperties = { Size = var.shards }")
		}
	})
	if !found {
		t.Error("the AWS schedule does not submit an array job of var.shards children")
	}
	gcp := load(t, "gcp")
	job := gcp.blocks("resource", "google_cloud_run_v2_job", "lakefuse")
	if len(job) != 1 {
		t.Fatal("no Cloud Run job")
	}
	tasks := ""
	walk(job[0].Body, func(a *hclsyntax.Attribute, _ []string) {
		if a.Name == "task_count" {
			tasks = gcp.source(a.Expr.Range())
		}
	})
	if tasks != "var.shards" {
		t.Errorf("Cloud Run task_count = %q, want var.shards", tasks)
	}
	raw, err := os.ReadFile("../deploy/k8s/indexed-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Spec struct {
			Completions, Parallelism int
			Template                 struct {
				Spec struct {
					Containers []struct {
						Env []struct{ Name, Value string }
					}
				}
			}
		}
	}
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	shards := ""
	for _, e := range obj.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "LAKEFUSE_SHARDS" {
			shards = e.Value
		}
	}
	if c := obj.Spec.Completions; c < 2 || obj.Spec.Parallelism != c || shards != strconv.Itoa(c) {
		t.Errorf("indexed job: completions %d, parallelism %d, LAKEFUSE_SHARDS %q: want them equal", c, obj.Spec.Parallelism, shards)
	}
}

// The AWS schedule passes the time a run was scheduled for, and the schedule's
// time zone, to lakefuse, which takes {today} and {yesterday} from them: a retry
// after midnight reads the scheduled day.
func TestScheduledTimeWired(t *testing.T) {
	aws := load(t, "aws")
	sched := aws.blocks("resource", "aws_scheduler_schedule", "nightly")
	if len(sched) != 1 {
		t.Fatal("no schedule")
	}
	input := ""
	walk(sched[0].Body, func(a *hclsyntax.Attribute, _ []string) {
		if a.Name == "input" {
			input = aws.source(a.Expr.Range())
		}
	})
	for _, want := range []string{`Name = "LAKEFUSE_SCHEDULED_TIME", Value = "<aws.scheduler.scheduled-time>"`, `Name = "LAKEFUSE_TIMEZONE", Value = var.schedule_timezone`} {
		if !strings.Contains(input, want) {
			t.Errorf("the schedule's input lacks %s:\n%s", want, input)
		}
	}
	// Cloud Scheduler cannot pass its time: the Cloud Run job takes the dates
	// at its start, in the schedule's zone.
	gcp := load(t, "gcp")
	zone := false
	for _, job := range gcp.blocks("resource", "google_cloud_run_v2_job", "lakefuse") {
		walk(job.Body, func(a *hclsyntax.Attribute, _ []string) {
			if a.Name == "value" && gcp.source(a.Expr.Range()) == "var.schedule_timezone" {
				zone = true
			}
		})
	}
	if !zone {
		t.Error("the Cloud Run job does not pass var.schedule_timezone as LAKEFUSE_TIMEZONE")
	}
}

// GCP applies from an empty project: terraform enables the APIs, the Cloud Run
// job (which needs its image) and its schedule wait for deploy_job = true, the
// job can be destroyed, and the name is validated against the provider's limits.
func TestGCPFirstApply(t *testing.T) {
	gcp := load(t, "gcp")
	apis := gcp.blocks("resource", "google_project_service", "apis")
	if len(apis) != 1 {
		t.Fatal("no google_project_service for the APIs")
	}
	src := gcp.source(apis[0].Body.Range())
	for _, api := range []string{"run.googleapis.com", "cloudscheduler.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com"} {
		if !strings.Contains(src, api) {
			t.Errorf("the APIs enabled lack %s", api)
		}
	}
	for _, r := range [][2]string{{"google_cloud_run_v2_job", "lakefuse"}, {"google_cloud_scheduler_job", "nightly"}, {"google_cloud_run_v2_job_iam_member", "scheduler_invokes"}} {
		b := gcp.blocks("resource", r[0], r[1])
		if len(b) != 1 {
			t.Fatalf("no %s.%s", r[0], r[1])
		}
		if c, ok := b[0].Body.Attributes["count"]; !ok || !strings.Contains(gcp.source(c.Expr.Range()), "var.deploy_job") {
			t.Errorf("%s.%s is not created only with deploy_job", r[0], r[1])
		}
	}
	job := gcp.blocks("resource", "google_cloud_run_v2_job", "lakefuse")[0]
	if dp, ok := job.Body.Attributes["deletion_protection"]; !ok || gcp.source(dp.Expr.Range()) != "false" {
		t.Error("the Cloud Run job keeps the provider's deletion protection: terraform destroy would fail")
	}
	name := gcp.blocks("variable", "name")
	if len(name) != 1 || len(name[0].Body.Blocks) == 0 || name[0].Body.Blocks[0].Type != "validation" {
		t.Error("variable name has no validation block")
	}
	alert := gcp.blocks("resource", "google_monitoring_alert_policy", "execution_failed")
	if len(alert) != 1 || !strings.Contains(gcp.source(alert[0].Body.Range()), `metric.labels.result = \"failed\"`) ||
		!strings.Contains(gcp.source(alert[0].Body.Range()), "var.notification_channels") {
		t.Error("no alert policy on failed executions notifying var.notification_channels")
	}
}

// terraform/aws validates and plans offline against the hashicorp/aws provider
// where a local plugin mirror holds it (LAKEFUSE_TF_PLUGIN_DIR, or the machine
// image's /opt/tf-plugins): init from the mirror, validate, and a plan with
// placeholder credentials and no refresh, which must add every resource.
func TestAWSValidateAndPlanOffline(t *testing.T) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		testenv.Missing(t, "terraform is not on PATH")
	}
	mirror := os.Getenv("LAKEFUSE_TF_PLUGIN_DIR")
	if mirror == "" {
		mirror = "/opt/tf-plugins"
	}
	if _, err := os.Stat(filepath.Join(mirror, "registry.terraform.io", "hashicorp", "aws")); err != nil {
		t.Skipf("skipped: no hashicorp/aws provider in a local plugin mirror (%s; set LAKEFUSE_TF_PLUGIN_DIR), and providers cannot be downloaded here", mirror)
	}
	dir := t.TempDir()
	entries, err := os.ReadDir("aws")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tf") {
			b, _ := os.ReadFile(filepath.Join("aws", e.Name()))
			os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
		}
	}
	// Placeholder credentials that the provider never checks: nothing is called.
	os.WriteFile(filepath.Join(dir, "override.tf"), []byte(`provider "aws" {
  region                      = var.region
  access_key                  = "AKIAPLACEHOLDER00000"
  secret_key                  = "placeholder"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}
`), 0o644)
	tf := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	tf("init", "-plugin-dir="+mirror, "-backend=false", "-input=false", "-no-color")
	tf("validate", "-no-color")
	plan := tf("plan", "-input=false", "-refresh=false", "-no-color",
		"-var", "region=eu-west-1", "-var", "lake_bucket_name=acme-lake", "-var", `dataset_prefixes=["reviews/"]`,
		"-var", "image_tag=v1", "-var", "spec_key=jobs/nightly.yaml", "-var", `subnet_ids=["subnet-1"]`,
		"-var", `security_group_ids=["sg-1"]`, "-var", `alert_emails=["ops@example.com"]`)
	for _, want := range []string{"aws_batch_job_queue.lakefuse", "aws_cloudwatch_event_rule.job_failed", "aws_sqs_queue.schedule_dlq", "Plan: 27 to add, 0 to change, 0 to destroy."} {
		if !strings.Contains(plan, want) {
			t.Errorf("the offline plan lacks %q", want)
		}
	}
}

// The deploy/k8s ServiceAccount can run as the job's identity on both clouds: on
// EKS through the job role's trust (IRSA, for that service account only), on GKE
// through a Workload Identity binding on the job's service account.
func TestKubernetesIdentitiesWired(t *testing.T) {
	aws := load(t, "aws")
	trust := aws.blocks("data", "aws_iam_policy_document", "job_assume")
	if len(trust) != 1 {
		t.Fatal("no job_assume trust policy")
	}
	src := aws.source(trust[0].Body.Range())
	for _, want := range []string{"sts:AssumeRoleWithWebIdentity", "var.eks_oidc_provider_arn", `"system:serviceaccount:${var.k8s_namespace}:${var.k8s_service_account}"`, "sts.amazonaws.com"} {
		if !strings.Contains(src, want) {
			t.Errorf("the job role's trust lacks %s", want)
		}
	}
	if role := aws.blocks("resource", "aws_iam_role", "job"); len(role) != 1 || !strings.Contains(aws.source(role[0].Body.Attributes["assume_role_policy"].Expr.Range()), "job_assume") {
		t.Error("the job role does not use the job_assume trust")
	}
	gcp := load(t, "gcp")
	wi := gcp.blocks("resource", "google_service_account_iam_member", "gke_workload_identity")
	if len(wi) != 1 || !strings.Contains(gcp.source(wi[0].Body.Range()), "roles/iam.workloadIdentityUser") ||
		!strings.Contains(gcp.source(wi[0].Body.Range()), ".svc.id.goog[${var.k8s_namespace}/${var.k8s_service_account}]") {
		t.Error("no Workload Identity binding of the k8s ServiceAccount to the job's service account")
	}
}

// The ECR lifecycle cannot expire the deployed tag: its first rule selects it
// (ECR lets no later rule expire what an earlier one selected).
func TestECRKeepsTheDeployedTag(t *testing.T) {
	aws := load(t, "aws")
	lc := aws.blocks("resource", "aws_ecr_lifecycle_policy", "lakefuse")
	if len(lc) != 1 {
		t.Fatal("no lifecycle policy")
	}
	src := aws.source(lc[0].Body.Range())
	first := strings.Index(src, "rulePriority = 1")
	if first < 0 || !strings.Contains(src[first:], "tagPatternList = [var.image_tag]") || strings.Index(src[first:], "tagPatternList = [var.image_tag]") > strings.Index(src[first:], "rulePriority = 2") {
		t.Errorf("the first lifecycle rule does not select the deployed tag:\n%s", src)
	}
}

// The Kustomize overlays apply to the base: each includes it, each patch targets a
// document of cronjob.yaml, and its JSON-patch "add" operations land (applied here
// as kustomize applies RFC 6902 patches) where the cluster reads them.
func TestKustomizeOverlays(t *testing.T) {
	raw, err := os.ReadFile("../deploy/k8s/cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var base []map[string]any
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		if m != nil {
			base = append(base, m)
		}
	}
	var kust struct {
		Resources []string `yaml:"resources"`
		Patches   []struct {
			Target struct{ Kind, Name string } `yaml:"target"`
			Patch  string                      `yaml:"patch"`
		} `yaml:"patches"`
	}
	b, _ := os.ReadFile("../deploy/k8s/kustomization.yaml")
	if err := yaml.Unmarshal(b, &kust); err != nil || !slices.Equal(kust.Resources, []string{"cronjob.yaml"}) {
		t.Fatalf("base kustomization: %v %v", kust.Resources, err)
	}
	for overlay, want := range map[string]string{
		"eks":   "metadata.annotations.eks.amazonaws.com/role-arn",
		"gke":   "metadata.annotations.iam.gke.io/gcp-service-account",
		"plain": "spec.jobTemplate.spec.template.spec.containers.0.envFrom",
	} {
		b, err := os.ReadFile(filepath.Join("../deploy/k8s/overlays", overlay, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		kust.Resources, kust.Patches = nil, nil
		if err := yaml.Unmarshal(b, &kust); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(kust.Resources, []string{"../.."}) || len(kust.Patches) == 0 {
			t.Errorf("%s: resources %v, %d patches", overlay, kust.Resources, len(kust.Patches))
			continue
		}
		applied := false
		for _, p := range kust.Patches {
			var doc map[string]any
			for _, d := range base {
				md, _ := d["metadata"].(map[string]any)
				if d["kind"] == p.Target.Kind && md["name"] == p.Target.Name {
					doc = d
				}
			}
			if doc == nil {
				t.Errorf("%s: the patch targets %s %s, which the base lacks", overlay, p.Target.Kind, p.Target.Name)
				continue
			}
			var ops []struct {
				Op    string `yaml:"op"`
				Path  string `yaml:"path"`
				Value any    `yaml:"value"`
			}
			if err := yaml.Unmarshal([]byte(p.Patch), &ops); err != nil {
				t.Fatalf("%s: patch: %v", overlay, err)
			}
			for _, op := range ops {
				if op.Op != "add" {
					t.Errorf("%s: op %s", overlay, op.Op)
					continue
				}
				parts := strings.Split(strings.TrimPrefix(op.Path, "/"), "/")
				var node any = doc
				for i, part := range parts {
					part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
					last := i == len(parts)-1
					switch n := node.(type) {
					case map[string]any:
						if last {
							n[part] = op.Value
							applied = applied || strings.ReplaceAll(strings.Join(parts, "."), "~1", "/") == want
						} else if node = n[part]; node == nil {
							t.Errorf("%s: %s: no %q in the base", overlay, op.Path, part)
						}
					case []any:
						k, err := strconv.Atoi(part)
						if err != nil || k >= len(n) {
							t.Errorf("%s: %s: bad index %q", overlay, op.Path, part)
						} else {
							node = n[k]
						}
					default:
						t.Errorf("%s: %s: %q is not a container", overlay, op.Path, part)
					}
					if node == nil {
						break
					}
				}
			}
		}
		if !applied {
			t.Errorf("%s: no patch adds %s", overlay, want)
		}
	}
}

// Azure has the shape of the other two: the lake in a storage account without
// keys, a user-assigned identity that reads the container and writes only under
// the output prefix (an ABAC condition on the contributor role), a Container Apps
// job on a schedule, created once its image exists, that Container Apps does not
// retry (it cannot filter by exit code), a run id per execution.
func TestAzureDeployment(t *testing.T) {
	az := load(t, "azure")
	write := az.blocks("resource", "azurerm_role_assignment", "write_runs")
	if len(write) != 1 {
		t.Fatal("no write role assignment")
	}
	src := az.source(write[0].Body.Range())
	for _, want := range []string{"Storage Blob Data Contributor", "blobs:path] StringStartsWith '${var.output_prefix}'", "blobs/write", "blobs/delete", `condition_version    = "2.0"`} {
		if !strings.Contains(src, want) {
			t.Errorf("the write assignment lacks %s", want)
		}
	}
	for _, r := range az.blocks("resource", "azurerm_role_assignment") {
		s := az.source(r.Body.Range())
		if strings.Contains(s, "Contributor") && !strings.Contains(s, "condition") {
			t.Errorf("role assignment %s grants writes without a path condition", r.Labels[1])
		}
		if strings.Contains(s, `"Owner"`) || strings.Contains(s, `"Contributor"`) {
			t.Errorf("role assignment %s is a wildcard role", r.Labels[1])
		}
	}
	sa := az.blocks("resource", "azurerm_storage_account", "lake")
	if len(sa) != 1 || az.source(sa[0].Body.Attributes["shared_access_key_enabled"].Expr.Range()) != "false" ||
		az.source(sa[0].Body.Attributes["allow_nested_items_to_be_public"].Expr.Range()) != "false" {
		t.Error("the storage account keeps account keys or allows public blobs")
	}
	job := az.blocks("resource", "azurerm_container_app_job", "lakefuse")
	if len(job) != 1 {
		t.Fatal("no Container Apps job")
	}
	js := az.source(job[0].Body.Range())
	for _, want := range []string{"count                        = var.deploy_job ? 1 : 0", "replica_retry_limit = 0", "schedule_trigger_config", "cron_expression          = var.schedule",
		`-$${CONTAINER_APP_JOB_EXECUTION_NAME}"`, `name  = "AZURE_CLIENT_ID"`, `value = tostring(var.shards)`, "UserAssigned"} {
		if !strings.Contains(js, want) {
			t.Errorf("the Container Apps job lacks %s", want)
		}
	}
	for _, v := range []string{"name", "storage_account_name", "registry_name", "shards", "cpu"} {
		b := az.blocks("variable", v)
		if len(b) != 1 || len(b[0].Body.Blocks) == 0 || b[0].Body.Blocks[0].Type != "validation" {
			t.Errorf("variable %s has no validation", v)
		}
	}
}

// The image: every base pinned by a sha256 digest (a tag alone can move under
// a rebuild), the build stage on the builder's platform cross-compiling for the
// target's (TARGETARCH: a multi-arch build without emulation), a static binary,
// and no root user at run time.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.EqualFold(f[0], "FROM") {
			froms = append(froms, line)
			image := f[1]
			if strings.HasPrefix(image, "--platform=") {
				image = f[2]
			}
			at := strings.Index(image, "@sha256:")
			if at < 0 || len(image[at+len("@sha256:"):]) != 64 || strings.Trim(image[at+len("@sha256:"):], "0123456789abcdef") != "" {
				t.Errorf("%q: the base image is not pinned by a sha256 digest", line)
			}
		}
	}
	if len(froms) != 2 || !strings.Contains(froms[0], "--platform=$BUILDPLATFORM") {
		t.Errorf("want a build stage on $BUILDPLATFORM and a run stage; FROM lines %q", froms)
	}
	for _, want := range []string{"ARG TARGETARCH", "GOARCH=${TARGETARCH}", "CGO_ENABLED=0", "USER nonroot"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
}
