package eval

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// palette colours strategies consistently across the charts of a report.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#843c39", "#7b4173"}

// EvalSplit is the split a report's charts show: "test" if present, else the first
// split with metrics other than "train".
func (r *Report) EvalSplit() string {
	for _, s := range r.Splits {
		if s == "test" {
			return s
		}
	}
	for _, s := range r.Splits {
		if s != "train" && s != "unlabelled" {
			return s
		}
	}
	if len(r.Splits) > 0 {
		return r.Splits[0]
	}
	return ""
}

// strategyRow is one strategy's headline figures on the report's split.
type strategyRow struct {
	Name, Type, Colour string
	Baseline           bool
	Split              *SplitReport
	Accuracy           float64
	CI                 string
	Cols               []string
}

func (r *Report) rows(split string) []strategyRow {
	var out []strategyRow
	for i, s := range r.Strategies {
		sp := s.Splits[split]
		if sp == nil {
			continue
		}
		row := strategyRow{Name: s.Name, Type: s.Type, Baseline: s.Baseline, Split: sp, Colour: palette[i%len(palette)], Accuracy: sp.Metrics["accuracy"]}
		if s.Baseline {
			row.Colour = "#9a9a9a"
		}
		if iv, ok := sp.Intervals["accuracy"]; ok {
			row.CI = fmt.Sprintf("[%.4f, %.4f]", iv.Low, iv.High)
		}
		for _, m := range []string{"f1_macro", "balanced_accuracy", "log_loss", "brier", "ece", "roc_auc", "average_precision"} {
			row.Cols = append(row.Cols, fmtNum(sp.Metrics[m]))
		}
		out = append(out, row)
	}
	return out
}

func fmtNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.4f", v)
}

// WriteHTML writes the report as one self-contained HTML page: inline CSS and
// SVG, no scripts, nothing fetched from elsewhere.
func (r *Report) WriteHTML(w io.Writer) error {
	split := r.EvalSplit()
	rows := r.rows(split)
	best := -1
	for i, row := range rows {
		if !row.Baseline && (best < 0 || row.Accuracy > rows[best].Accuracy) {
			best = i
		}
	}
	var confusion []template.HTML
	if best >= 0 {
		confusion = append(confusion, confusionSVG(rows[best].Name, rows[best].Split.Confusion, r.Classes))
	}
	for _, row := range rows {
		if row.Name == r.BestBaseline {
			confusion = append(confusion, confusionSVG(row.Name, row.Split.Confusion, r.Classes))
		}
	}
	var reliability, roc []template.HTML
	for _, row := range rows {
		if row.Baseline && row.Name != r.BestBaseline {
			continue
		}
		reliability = append(reliability, reliabilitySVG(row))
		roc = append(roc, rocSVG(row))
	}
	data := map[string]any{
		"R": r, "Split": split, "Rows": rows, "Forest": forestPlot(rows),
		"Bars": barsSVG(rows, r.BestBaseline), "Truth": truthTable(r, split), "Reliability": reliability, "ROC": roc, "Confusion": confusion,
		"Robustness": robustnessTable(r, split), "Ablation": ablationTable(r, split), "PeakMB": float64(r.Cost.PeakRSSBytes) / (1 << 20),
		"Stages": sortedStages(r.Seconds),
	}
	return reportTemplate.Execute(w, data)
}

type stage struct {
	Name    string
	Seconds float64
}

func sortedStages(m map[string]float64) []stage {
	order := map[string]int{"plan": 0, "scan": 1, "align": 2, "load": 3, "fit_predict": 4, "out_of_fold": 5, "predict": 6, "evaluate": 7, "write": 8}
	var out []stage
	for k, v := range m {
		out = append(out, stage{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return order[out[i].Name] < order[out[j].Name] })
	return out
}

// barsSVG draws accuracy per strategy with bootstrap interval whiskers; the best
// baseline's accuracy is a dashed line.
func barsSVG(all []strategyRow, bestBaseline string) template.HTML {
	// The fused strategies and the best single modality, as dots with their
	// intervals on an axis spanning their own range: differences of a point
	// show (the other baselines are in the table below).
	var rows []strategyRow
	for _, r := range all {
		if !r.Baseline || r.Name == bestBaseline {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return ""
	}
	const rowH, left, width = 22, 150, 640
	h := rowH*len(rows) + 40
	lo, hi := 1.0, 0.0
	for _, r := range rows {
		lo, hi = math.Min(lo, r.Accuracy), math.Max(hi, r.Accuracy)
		if iv, ok := r.Split.Intervals["accuracy"]; ok {
			lo, hi = math.Min(lo, iv.Low), math.Max(hi, iv.High)
		}
	}
	pad := math.Max((hi-lo)*0.1, 0.005)
	lo, hi = math.Max(0, lo-pad), math.Min(1, hi+pad)
	x := func(v float64) float64 { return left + (v-lo)/(hi-lo)*(width-left-20) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="accuracy by strategy">`, width, h, width, h)
	for _, t := range niceTicks(lo, hi, 6) {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="10" x2="%.1f" y2="%d" stroke="#e5e5e5"/><text x="%.1f" y="%d" class="tick">%.3f</text>`, x(t), x(t), h-22, x(t), h-8, t)
	}
	for i, r := range rows {
		y := 12 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label">%s</text>`, left-6, y+13, html.EscapeString(r.Name))
		if iv, ok := r.Split.Intervals["accuracy"]; ok {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"/>`, x(iv.Low), y+rowH/2, x(iv.High), y+rowH/2, r.Colour)
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%d" r="4.5" fill="%s"><title>%s: %.4f %s</title></circle>`, x(r.Accuracy), y+rowH/2, r.Colour, html.EscapeString(r.Name), r.Accuracy, r.CI)
		if r.Name == bestBaseline {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="10" x2="%.1f" y2="%d" stroke="#555" stroke-dasharray="4 3"/>`, x(r.Accuracy), x(r.Accuracy), h-22)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// square plots share a frame: a unit square with its diagonal, axis label below.
const plotSize, plotMargin = 200, 28

func plotX(v float64) float64 { return plotMargin + v*(plotSize-2*plotMargin) }

// openPlot starts a square plot with its frame and diagonal.
func openPlot(b *strings.Builder, aria string) {
	fmt.Fprintf(b, `<figure><svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`, plotSize, plotSize, plotSize, plotSize, html.EscapeString(aria))
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>`, plotMargin, plotMargin, plotSize-2*plotMargin, plotSize-2*plotMargin)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#aaa" stroke-dasharray="3 3"/>`, plotX(0), plotX(1), plotX(1), plotX(0))
}

// closePlot labels the x axis and captions the plot.
func closePlot(b *strings.Builder, xLabel, caption string) {
	fmt.Fprintf(b, `<text x="%d" y="%d" class="tick">%s</text>`, plotSize/2, plotSize-8, html.EscapeString(xLabel))
	fmt.Fprintf(b, `</svg><figcaption>%s</figcaption></figure>`, html.EscapeString(caption))
}

// reliabilitySVG is a reliability diagram: accuracy against mean confidence per
// bin, point area by rows, against the diagonal.
func reliabilitySVG(r strategyRow) template.HTML {
	var b strings.Builder
	openPlot(&b, "reliability of "+r.Name)
	var total int64
	for _, bin := range r.Split.Reliability {
		total += bin.Rows
	}
	for _, bin := range r.Split.Reliability {
		if bin.Rows == 0 || math.IsNaN(float64(bin.Accuracy)) {
			continue
		}
		rad := 2 + 10*math.Sqrt(float64(bin.Rows)/float64(max(total, 1)))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s" opacity="0.7"><title>confidence %.3f, accuracy %.3f, %d rows</title></circle>`,
			plotX(float64(bin.Confidence)), plotX(1-float64(bin.Accuracy)), rad, r.Colour, float64(bin.Confidence), float64(bin.Accuracy), bin.Rows)
	}
	fmt.Fprintf(&b, `<text x="4" y="%d" class="tick" style="text-anchor:start">acc.</text>`, plotMargin+4)
	closePlot(&b, "confidence", r.Name+" · ECE "+fmtNum(r.Split.Metrics["ece"]))
	return template.HTML(b.String())
}

// rocSVG draws the ROC curve (one-vs-rest per class for more than two classes).
func rocSVG(r strategyRow) template.HTML {
	var b strings.Builder
	openPlot(&b, "ROC of "+r.Name)
	for _, c := range r.Split.ROC {
		var pts []string
		for _, pt := range c.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", plotX(pt.FPR), plotX(1-pt.TPR)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.2" opacity="0.75"><title>class %s: AUC %s</title></polyline>`,
			strings.Join(pts, " "), r.Colour, html.EscapeString(c.Class), fmtNum(float64(c.AUC)))
	}
	closePlot(&b, "false positive rate", r.Name+" · AUC "+fmtNum(r.Split.Metrics["roc_auc"]))
	return template.HTML(b.String())
}

// confusionSVG is the confusion matrix as a heat map, each row shaded by its share.
func confusionSVG(name string, m [][]int64, classes []string) template.HTML {
	k := len(m)
	cell := max(18, min(40, 360/max(k, 1)))
	off := 60
	size := off + cell*k + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<figure><svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="confusion matrix of %s">`, size, size, size, size, html.EscapeString(name))
	for i := 0; i < k; i++ {
		var row int64
		for _, v := range m[i] {
			row += v
		}
		cls := fmt.Sprint(i)
		if i < len(classes) {
			cls = classes[i]
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="end">%s</text>`, off-6, off+i*cell+cell/2+4, html.EscapeString(cls))
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="middle">%s</text>`, off+i*cell+cell/2, off-8, html.EscapeString(cls))
		for j := 0; j < k; j++ {
			share := 0.0
			if row > 0 {
				share = float64(m[i][j]) / float64(row)
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="rgb(%d,%d,%d)"><title>true %s, predicted %d: %d rows</title></rect>`,
				off+j*cell, off+i*cell, cell-1, cell-1, int(255-200*share), int(255-150*share), 255, html.EscapeString(cls), j, m[i][j])
			if m[i][j] > 0 && cell >= 24 {
				fmt.Fprintf(&b, `<text x="%d" y="%d" class="cell">%d</text>`, off+j*cell+cell/2, off+i*cell+cell/2+4, m[i][j])
			}
		}
	}
	fmt.Fprintf(&b, `</svg><figcaption>%s (rows: true class; columns: predicted)</figcaption></figure>`, html.EscapeString(name))
	return template.HTML(b.String())
}

// robustnessTable shows accuracy per modality-presence pattern (the 15 most common).
func robustnessTable(r *Report, split string) template.HTML {
	var names []string
	for _, s := range r.Strategies {
		if !s.Baseline || s.Name == r.BestBaseline {
			names = append(names, s.Name)
		}
	}
	var b strings.Builder
	// Strategy names run vertically, so that a dozen strategies fit the page.
	b.WriteString(`<div style="overflow-x:auto"><table class="narrow"><tr><th>modalities present</th><th>rows</th>`)
	for _, n := range names {
		fmt.Fprintf(&b, `<th class="vertical">%s</th>`, html.EscapeString(n))
	}
	b.WriteString(`</tr>`)
	shown := 0
	for _, p := range r.Robustness {
		if p.Split != split || shown == 15 {
			continue
		}
		shown++
		fmt.Fprintf(&b, `<tr><td>%s</td><td>%d</td>`, html.EscapeString(strings.Join(p.Present, ", ")), p.Rows)
		for _, n := range names {
			v := float64(p.Accuracy[n])
			shade := 255 - int(math.Max(0, math.Min(1, v))*90)
			fmt.Fprintf(&b, `<td style="background:rgb(%d,255,%d)">%s</td>`, shade, shade, fmtNum(v))
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</table></div>`)
	return template.HTML(b.String())
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(v float64) string { return fmt.Sprintf("%+.2f", 100*v) },
	"pts": func(v float64) float64 { return 100 * v },
	"val": func(p *float64) float64 { return *p },
	"num": fmtNum,
	"mb":  func(v int64) string { return fmt.Sprintf("%.1f MB", float64(v)/1e6) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>lakefuse · {{.R.Job}} · {{.R.RunID}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;color:#1d1d1f;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#666}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;white-space:nowrap}
th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
th.vertical{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;padding:.4rem .2rem;font-weight:normal}table.narrow td{padding:.2rem .35rem;font-size:13px}
.label{font-size:12px;text-anchor:end}.tick{font-size:10px;fill:#666;text-anchor:middle}.cell{font-size:10px;text-anchor:middle}
.grid{display:flex;flex-wrap:wrap;gap:.5rem}figure{margin:0}figcaption{font-size:12px;color:#444;text-align:center}
.warnings{border-left:4px solid #b8860b;padding-left:.75rem}li.helped,td.helped{color:#17692b}li.hurt,td.hurt{color:#a11a1a}li.inconclusive,td.inconclusive{color:#444}.baseline{color:#777}
</style></head><body>
<h1>{{.R.Job}}</h1>
<p class="meta">run <b>{{.R.RunID}}</b> · dataset {{.R.Dataset}} · {{.R.Lake}} · {{.R.Rows.Aligned}} entities aligned, {{.R.Rows.Scored}} scored{{range $k, $v := .R.Rows.Rejected}}, {{$v}} rejected ({{$k}}){{end}} · splits: {{range $k, $v := .R.Rows.BySplit}}{{$k}} {{$v}} · {{end}}{{if .R.Replicates}}{{.R.Replicates}} bootstrap replicates{{end}}</p>
{{if .R.Warnings}}<div class="warnings"><h2>Warnings</h2><ul>{{range .R.Warnings}}<li>{{.}}</li>{{end}}</ul></div>{{end}}

<h2>Did fusion help?</h2>
{{if .R.BestBaseline}}<p>Each strategy against the best single modality, <b>{{.R.BestBaseline}}</b> (chosen on the {{.R.ChosenOn}} split{{with .R.BaselineChoice}}, by cross-validated accuracy{{if .Tie}}: a tie, decided by cross-validated log loss{{end}}{{end}}), on the {{.Split}} split: paired accuracy difference with a bootstrap interval, and McNemar's exact test.</p>
{{with .R.BaselineChoice}}<p class="meta">Cross-validated accuracy (log loss) on the training rows, each fold's figure averaged over the stratified folds: {{range .Candidates}}{{.Name}} {{printf "%.4f" .Accuracy}} ({{printf "%.4f" .LogLoss}}) · {{end}}</p>{{end}}
{{.Forest}}{{else}}<p>No unimodal baseline to compare with.</p>{{end}}

{{with .R.Truth}}<h2>Ground truth: synthetic scenario {{.Scenario}}</h2>
<p>This dataset was written by <code>lakefuse synth</code> (seed {{.Seed}}), which knows the Bayes-optimal accuracy of every modality and of their fusion (exact posteriors, {{.Samples}} Monte Carlo samples: ± one standard error). No model can beat them beyond sampling error; the gap is what the strategies leave on the table{{with .Sweep}}. Sweep point: {{.Parameter}} = {{.Value}}{{end}}.</p>
{{$.Truth}}{{end}}

{{with .R.Overfit}}<h2>Overfitting: in sample, out of fold, {{.Split}}</h2>
<p>Accuracy on the training rows each model was fitted on (in sample), on the same {{.Rows}} rows predicted by fits that did not see them ({{.Folds}} stratified folds: each strategy refitted per fold on the out-of-fold unimodal probabilities), and on the {{.Split}} split. <b>overfits</b> marks an in-sample figure more than {{printf "%.0f" (pts .Margin)}} points above the out-of-fold one: trust the out-of-fold and {{.Split}} figures for that model.</p>
<table><tr><th>strategy</th><th>in sample</th><th>out of fold</th><th>{{.Split}}</th><th>gap (pts)</th><th></th></tr>
{{range .Strategies}}<tr><td>{{.Name}}</td><td>{{printf "%.4f" .InSample}}</td><td>{{printf "%.4f" .OutOfFold}}</td><td>{{with .Evaluation}}{{printf "%.4f" (val .)}}{{end}}</td><td>{{printf "%+.2f" (pts .Gap)}}</td><td>{{if .Overfit}}<b>overfits</b>{{end}}</td></tr>
{{end}}</table>{{end}}

<h2>Strategies on the {{.Split}} split</h2>
{{.Bars}}
<table><tr><th>strategy</th><th>type</th><th>accuracy</th><th>95% CI</th><th>macro-F1</th><th>balanced acc.</th><th>log loss</th><th>Brier</th><th>ECE</th><th>ROC AUC</th><th>avg. precision</th></tr>
{{range .Rows}}<tr{{if .Baseline}} class="baseline"{{end}}><td><span style="color:{{.Colour}}">■</span> {{.Name}}</td><td>{{.Type}}</td><td>{{num .Accuracy}}</td><td>{{.CI}}</td>{{range .Cols}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>

<h2>Calibration: reliability diagrams</h2>
<p>Accuracy against mean confidence in 15 equal-width bins of the top-class probability; points on the diagonal are calibrated.</p>
<div class="grid">{{range .Reliability}}{{.}}{{end}}</div>

<h2>ROC curves</h2>
<div class="grid">{{range .ROC}}{{.}}{{end}}</div>

<h2>Confusion matrices</h2>
<div class="grid">{{range .Confusion}}{{.}}{{end}}</div>

<h2>Robustness to missing modalities</h2>
<p>Accuracy on the {{.Split}} split by which modalities an entity has.</p>
{{.Robustness}}
{{with .Ablation}}<h3>Ablation: each modality removed in turn</h3>
<p>Change in accuracy (points) when a strategy loses one of its modalities: red where it needed it, green where it did better without.</p>
{{.}}{{end}}

<h2>Modalities</h2>
<table><tr><th>modality</th><th>kind</th><th>width</th><th>files</th><th>rows read</th><th>matched</th><th>duplicates</th><th>unmatched</th><th>invalid (rejected)</th><th>bytes read</th></tr>
{{range .R.Modalities}}<tr><td>{{.Name}}</td><td>{{.Kind}}</td><td>{{.Width}}</td><td>{{.Files}}</td><td>{{.RowsRead}}</td><td>{{.Matched}}</td><td>{{.Duplicates}}</td><td>{{.Unmatched}}</td><td>{{range $reason, $n := .Invalid}}{{$n}} {{$reason}}<br>{{else}}0{{end}}</td><td>{{mb .BytesRead}}</td></tr>
{{end}}</table>

<h2>Cost</h2>
<p>Peak memory {{printf "%.0f" .PeakMB}} MiB{{with .R.Memory}} (budget {{mb .BudgetBytes}}, {{.BudgetSource}}; {{.Path}} path{{if .Groups}}{{if eq .Layout "key ranges"}} in {{.Groups}} key ranges read from the lake{{else}} in {{.Groups}} bucket groups, {{mb .SpilledBytes}} spilled{{end}}{{end}}, estimated {{mb .EstimateBytes}}){{end}}.{{with .R.Fit}} Fitted on {{.Rows}} of {{.Of}} training rows ({{.Source}}).{{end}} Wall time by stage: {{range .Stages}}{{.Name}} {{printf "%.2f" .Seconds}} s · {{end}}</p>
<table><tr><th>strategy</th><th>fit (s)</th><th>predict (s)</th><th>scoring rows/s</th></tr>
{{range .R.Strategies}}<tr><td>{{.Name}}</td><td>{{printf "%.3f" .FitSeconds}}</td><td>{{printf "%.3f" .PredictSeconds}}</td><td>{{printf "%.0f" .RowsPerSecond}}</td></tr>
{{end}}</table>
{{with .R.Shards}}<h3>Shards</h3>
<p>{{.Count}} shards over {{.Buckets}} key buckets (shard i owned the buckets b with b mod {{.Count}} = i); together they read {{printf "%.2f" .ReadAmplification}} times the bytes of the lake's planned files.</p>
<table><tr><th>shard</th><th>index from</th><th>rows scored</th><th>files</th><th>bytes read</th><th>seconds</th><th>peak memory</th></tr>
{{range .Shards}}<tr><td>{{.Index}}</td><td>{{.Source}}</td><td>{{.RowsScored}}</td><td>{{.Files}}</td><td>{{mb .BytesRead}}</td><td>{{printf "%.2f" .Seconds}}</td><td>{{mb .PeakRSSBytes}}</td></tr>
{{end}}</table>{{end}}
<p class="meta">lakefuse report · self-contained: no scripts, no external resources.</p>
</body></html>
`))

// WriteComparisonHTML writes one page comparing runs (for example the daily runs of
// a scheduled job): accuracy per strategy and run on each run's evaluation split,
// as a table and a line chart, in the order given.
func WriteComparisonHTML(w io.Writer, reports []*Report) error {
	// Runs over the datasets of one lakefuse synth sweep are drawn against the
	// swept value, in its order, with each point's interval and the Bayes rate.
	sweep := ""
	if len(reports) > 1 {
		for i, r := range reports {
			if r.Truth == nil || r.Truth.Sweep == nil || (i > 0 && r.Truth.Sweep.Parameter != sweep) {
				sweep = ""
				break
			}
			sweep = r.Truth.Sweep.Parameter
		}
	}
	if sweep != "" {
		reports = append([]*Report(nil), reports...)
		sort.SliceStable(reports, func(i, j int) bool { return reports[i].Truth.Sweep.Value < reports[j].Truth.Sweep.Value })
	}
	var names []string
	seen := map[string]bool{}
	for _, r := range reports {
		for _, s := range r.Strategies {
			if !seen[s.Name] {
				seen[s.Name] = true
				names = append(names, s.Name)
			}
		}
	}
	acc := func(r *Report, name string) float64 {
		for _, s := range r.Strategies {
			if s.Name == name {
				if sp := s.Splits[r.EvalSplit()]; sp != nil {
					return sp.Metrics["accuracy"]
				}
			}
		}
		return math.NaN()
	}
	interval := func(r *Report, name string) (Interval, bool) {
		for _, s := range r.Strategies {
			if s.Name == name {
				if sp := s.Splits[r.EvalSplit()]; sp != nil {
					iv, ok := sp.Intervals["accuracy"]
					return iv, ok
				}
			}
		}
		return Interval{}, false
	}
	const width, height, m = 820, 300, 90
	lo := 1.0
	for _, r := range reports {
		for _, n := range names {
			if v := acc(r, n); !math.IsNaN(v) {
				lo = math.Min(lo, v)
			}
			if iv, ok := interval(r, n); ok && sweep != "" {
				lo = math.Min(lo, iv.Low)
			}
		}
		if sweep != "" {
			lo = math.Min(lo, fusedTruth(r).VsLabels)
		}
	}
	lo = math.Max(0, math.Floor(lo*20)/20-0.05)
	x := func(i int) float64 {
		if len(reports) == 1 {
			return width / 2
		}
		if sweep != "" {
			lo, hi := reports[0].Truth.Sweep.Value, reports[len(reports)-1].Truth.Sweep.Value
			if hi > lo {
				return m + (reports[i].Truth.Sweep.Value-lo)/(hi-lo)*(width-2*m)
			}
		}
		return m + float64(i)*(width-2*m)/float64(len(reports)-1)
	}
	y := func(v float64) float64 { return height - m + (lo-v)/(1-lo)*(height-2*m) }
	var chart strings.Builder
	fmt.Fprintf(&chart, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="accuracy by run">`, width, height, width, height)
	for t := lo; t <= 1.0001; t += (1 - lo) / 5 {
		fmt.Fprintf(&chart, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/><text x="%d" y="%.1f" class="tick">%.3f</text>`, m, y(t), width-m, y(t), m-22, y(t)+3, t)
	}
	for i, r := range reports {
		label := r.RunID
		if sweep != "" {
			label = strconv.FormatFloat(r.Truth.Sweep.Value, 'g', 4, 64)
		}
		fmt.Fprintf(&chart, `<text x="%.1f" y="%d" class="tick">%s</text>`, x(i), height-m+16, html.EscapeString(label))
	}
	if sweep != "" {
		fmt.Fprintf(&chart, `<text x="%d" y="%d" class="tick">%s</text>`, width/2, height-m+34, html.EscapeString(sweep))
		var pts []string
		for i, r := range reports {
			v := fusedTruth(r).VsLabels
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
			fmt.Fprintf(&chart, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="#000"><title>Bayes-optimal, fused: %.4f</title></circle>`, x(i), y(v), v)
		}
		fmt.Fprintf(&chart, `<polyline points="%s" fill="none" stroke="#000" stroke-dasharray="5,4" stroke-width="1.5"/>`, strings.Join(pts, " "))
		fmt.Fprintf(&chart, `<text x="%d" y="%d" class="tick" style="text-anchor:start">- - - Bayes-optimal (fused)</text>`, m, m-12)
	}
	for ni, n := range names {
		var pts []string
		for i, r := range reports {
			if v := acc(r, n); !math.IsNaN(v) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
				if iv, ok := interval(r, n); ok && sweep != "" {
					fmt.Fprintf(&chart, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1"/>`, x(i), y(iv.Low), x(i), y(iv.High), palette[ni%len(palette)])
				}
				fmt.Fprintf(&chart, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s, %s: %.4f</title></circle>`, x(i), y(v), palette[ni%len(palette)], html.EscapeString(n), html.EscapeString(r.RunID), v)
			}
		}
		fmt.Fprintf(&chart, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5"/>`, strings.Join(pts, " "), palette[ni%len(palette)])
	}
	if sweep != "" { // a legend, so that the chart stands alone (the README shows one)
		for ni, n := range names {
			lx := 20 + (ni%7)*115
			ly := height - 36 + (ni/7)*14
			fmt.Fprintf(&chart, `<rect x="%d" y="%d" width="9" height="9" fill="%s"/><text x="%d" y="%d" class="tick" style="text-anchor:start">%s</text>`, lx, ly-8, palette[ni%len(palette)], lx+13, ly, html.EscapeString(n))
		}
	}
	chart.WriteString(`</svg>`)
	var table strings.Builder
	table.WriteString(`<table><tr><th>strategy</th>`)
	for _, r := range reports {
		sub := r.EvalSplit()
		if sweep != "" {
			sub = fmt.Sprintf("%s = %v", sweep, r.Truth.Sweep.Value)
		}
		fmt.Fprintf(&table, `<th>%s<br><small>%s</small></th>`, html.EscapeString(r.RunID), html.EscapeString(sub))
	}
	table.WriteString(`</tr>`)
	for ni, n := range names {
		fmt.Fprintf(&table, `<tr><td><span style="color:%s">■</span> %s</td>`, palette[ni%len(palette)], html.EscapeString(n))
		for _, r := range reports {
			fmt.Fprintf(&table, `<td>%s</td>`, fmtNum(acc(r, n)))
		}
		table.WriteString(`</tr>`)
	}
	if sweep != "" {
		table.WriteString(`<tr><td>Bayes-optimal, fused</td>`)
		for _, r := range reports {
			fmt.Fprintf(&table, `<td>%.4f</td>`, fusedTruth(r).VsLabels)
		}
		table.WriteString(`</tr>`)
	}
	table.WriteString(`</table>`)
	title := fmt.Sprintf("Accuracy across %d runs", len(reports))
	if sweep != "" {
		title = "Accuracy against " + sweep
	}
	return comparisonTemplate.Execute(w, map[string]any{"Chart": template.HTML(chart.String()), "Table": template.HTML(table.String()), "N": len(reports), "Title": title})
}

var comparisonTemplate = template.Must(template.New("compare").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lakefuse · {{.N}} runs</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f6f6f6}.tick{font-size:10px;fill:#666;text-anchor:middle}</style>
</head><body><h1>{{.Title}}</h1>{{.Chart}}{{.Table}}
<p style="color:#666">Each run's evaluation split (test where present). lakefuse report, self-contained.</p></body></html>
`))

// fusedTruth is a sweep report's fused Bayes rate on its evaluation split.
func fusedTruth(r *Report) TruthRate {
	_, f, _ := r.Truth.On(r.EvalSplit())
	return f
}

// forestPlot is "did fusion help?" at a glance: per strategy, its accuracy
// difference from the best single modality with the paired bootstrap interval,
// against a marked zero line, coloured by verdict; then the same figures, with
// McNemar's p and the verdict, as a table.
func forestPlot(rows []strategyRow) template.HTML {
	var cs []strategyRow
	lo, hi := 0.0, 0.0
	for _, row := range rows {
		if c := row.Split.Comparison; c != nil && !row.Baseline {
			cs = append(cs, row)
			lo = math.Min(lo, c.Interval.Low)
			hi = math.Max(hi, c.Interval.High)
		}
	}
	if len(cs) == 0 {
		return ""
	}
	pad := math.Max((hi-lo)*0.08, 0.002)
	lo, hi = lo-pad, hi+pad
	const width, left, right, rowH, top = 760, 170, 40, 22, 26
	height := top + len(cs)*rowH + 30
	x := func(v float64) float64 { return left + (v-lo)/(hi-lo)*(width-left-right) }
	colour := map[string]string{"helped": "#17692b", "hurt": "#a11a1a", "inconclusive": "#666"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="accuracy difference from the best single modality, with 95%% intervals">`, width, height, width, height)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-dasharray="3,3"/><text x="%.1f" y="%d" class="tick">0 (no difference)</text>`, x(0), top-8, x(0), height-26, x(0), top-12)
	for _, t := range niceTicks(lo, hi, 6) {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" class="tick">%+.1f</text>`, x(t), top-4, x(t), height-26, x(t), height-12, 100*t)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick">accuracy difference, points</text>`, (left+width-right)/2, height-1)
	for i, row := range cs {
		c := row.Split.Comparison
		y := float64(top + i*rowH + rowH/2)
		col := colour[c.Verdict]
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="label">%s</text>`, left-8, y+4, html.EscapeString(row.Name))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`, x(c.Interval.Low), y, x(c.Interval.High), y, col)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s: %+.2f points [%+.2f, %+.2f], McNemar p = %.3g (%s)</title></circle>`,
			x(c.Difference), y, col, html.EscapeString(row.Name), 100*c.Difference, 100*c.Interval.Low, 100*c.Interval.High, c.McNemarP, c.Verdict)
	}
	b.WriteString(`</svg>`)
	b.WriteString(`<table><tr><th>strategy</th><th>difference (pts)</th><th>95% CI</th><th>McNemar p</th><th>verdict</th></tr>`)
	for _, row := range cs {
		c := row.Split.Comparison
		fmt.Fprintf(&b, `<tr><td>%s</td><td>%+.2f</td><td>[%+.2f, %+.2f]</td><td>%.3g</td><td class="%s">%s</td></tr>`,
			html.EscapeString(row.Name), 100*c.Difference, 100*c.Interval.Low, 100*c.Interval.High, c.McNemarP, c.Verdict, VerdictWords[c.Verdict])
	}
	b.WriteString(`</table>`)
	return template.HTML(b.String())
}

// niceTicks are round values between lo and hi, about n of them.
func niceTicks(lo, hi float64, n int) []float64 {
	step := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(step)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= step {
			step = m * mag
			break
		}
	}
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi; t += step {
		out = append(out, t)
	}
	return out
}

// ablationTable is the ablation as a heat map: a row per strategy, a column per
// modality, each cell the change in accuracy (points) without that modality.
func ablationTable(r *Report, split string) template.HTML {
	var strategies, modalities []string
	cell := map[[2]string]float64{}
	for _, a := range r.Ablation {
		if a.Split != split {
			continue
		}
		if !slices.Contains(strategies, a.Strategy) {
			strategies = append(strategies, a.Strategy)
		}
		if !slices.Contains(modalities, a.Without) {
			modalities = append(modalities, a.Without)
		}
		cell[[2]string{a.Strategy, a.Without}] = a.Delta
	}
	if len(strategies) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<div style="overflow-x:auto"><table class="narrow"><tr><th>strategy</th>`)
	for _, m := range modalities {
		fmt.Fprintf(&b, `<th>without %s</th>`, html.EscapeString(m))
	}
	b.WriteString(`</tr>`)
	for _, s := range strategies {
		fmt.Fprintf(&b, `<tr><td>%s</td>`, html.EscapeString(s))
		for _, m := range modalities {
			d, ok := cell[[2]string{s, m}]
			if !ok {
				b.WriteString(`<td></td>`)
				continue
			}
			// Shade by size, up to 10 points: red for a loss, green for a gain.
			k := int(math.Min(1, math.Abs(d)/0.10) * 120)
			bg := fmt.Sprintf("rgb(255,%d,%d)", 255-k, 255-k)
			if d > 0 {
				bg = fmt.Sprintf("rgb(%d,255,%d)", 255-k, 255-k)
			}
			fmt.Fprintf(&b, `<td style="background:%s">%+.2f</td>`, bg, 100*d)
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</table></div>`)
	return template.HTML(b.String())
}
