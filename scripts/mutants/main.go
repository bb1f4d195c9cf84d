// Command mutants re-judges the mutants a gremlins run reported, one by one,
// against the current tests: the quick loop for killing survivors. A full
// gremlins run over a package takes 20 to 60 minutes here; re-judging only the
// mutants that lived takes a few, because each mutant is one `go test -overlay`
// of the package with one token replaced, exactly as gremlins v0.6.0 replaces it
// (its mappings are copied below).
//
//	go run ./scripts/mutants -report /tmp/lakefuse-mutation/eval.json ./eval
//
// prints each mutant's new status (KILLED, LIVED, TIMED OUT, NOT VIABLE) and the
// counts. The official efficacy figures still come from scripts/mutation.sh.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// mutations is gremlins v0.6.0's internal/engine/mappings.go for the mutator
// types it enables by default.
var mutations = map[string]map[token.Token]token.Token{
	"ARITHMETIC_BASE": {token.ADD: token.SUB, token.MUL: token.QUO, token.QUO: token.MUL,
		token.REM: token.MUL, token.SUB: token.ADD},
	"CONDITIONALS_BOUNDARY": {token.GEQ: token.GTR, token.GTR: token.GEQ, token.LEQ: token.LSS,
		token.LSS: token.LEQ},
	"CONDITIONALS_NEGATION": {token.EQL: token.NEQ, token.GEQ: token.LSS, token.GTR: token.LEQ,
		token.LEQ: token.GTR, token.LSS: token.GEQ, token.NEQ: token.EQL},
	"INCREMENT_DECREMENT": {token.DEC: token.INC, token.INC: token.DEC},
	"INVERT_NEGATIVES":    {token.SUB: token.ADD},
}

// report is the part of gremlins' JSON report this reads and writes back.
type report struct {
	Files []struct {
		Name      string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

type mutant struct {
	file, typ    string
	line, column int
	status       string
	result       *string // the report entry to update
}

func main() {
	reportPath := flag.String("report", "", "gremlins JSON report (-o) of the package")
	only := flag.String("status", "LIVED", "re-judge mutants with this status in the report (empty: all)")
	workers := flag.Int("workers", 2, "mutants judged at once")
	timeout := flag.Duration("timeout", 2*time.Minute, "per-mutant test timeout (a mutant that exceeds it TIMED OUT)")
	tags := flag.String("tags", "", "build tags for go test")
	run := flag.String("run", "", "go test -run pattern: judge against these tests only (a mutant one of them kills is killed; a survivor may still die to the others)")
	out := flag.String("o", "", "write the report back with the new statuses (feed it to the next round)")
	flag.Parse()
	if *reportPath == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mutants -report GREMLINS.json ./PACKAGE")
		os.Exit(2)
	}
	pkg := flag.Arg(0)
	var rep report
	raw, err := os.ReadFile(*reportPath)
	must(err)
	must(json.Unmarshal(raw, &rep))
	var todo []*mutant
	for _, f := range rep.Files {
		for j, m := range f.Mutations {
			if *only == "" || m.Status == *only {
				todo = append(todo, &mutant{file: filepath.Join(pkg, filepath.Base(f.Name)), typ: m.Type, line: m.Line, column: m.Column,
					result: &f.Mutations[j].Status})
			}
		}
	}
	sort.Slice(todo, func(i, j int) bool {
		if todo[i].file != todo[j].file {
			return todo[i].file < todo[j].file
		}
		return todo[i].line < todo[j].line
	})
	tmp, err := os.MkdirTemp("", "lakefuse-mutants-")
	must(err)
	defer os.RemoveAll(tmp)

	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				todo[i].status = judge(todo[i], pkg, filepath.Join(tmp, fmt.Sprint(i)), *tags, *run, *timeout)
				fmt.Printf("%-10s %s %s:%d:%d\n", todo[i].status, todo[i].typ, todo[i].file, todo[i].line, todo[i].column)
			}
		}()
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	counts := map[string]int{}
	for _, m := range todo {
		counts[m.status]++
		*m.result = m.status
	}
	if *out != "" {
		b, err := json.MarshalIndent(rep, "", " ")
		must(err)
		must(os.WriteFile(*out, b, 0o644))
	}
	fmt.Printf("judged %d: killed %d, lived %d, timed out %d, not viable %d\n",
		len(todo), counts["KILLED"], counts["LIVED"], counts["TIMED OUT"], counts["NOT VIABLE"])
}

// judge applies one mutant through an overlay and runs the package's tests.
func judge(m *mutant, pkg, dir, tags, run string, timeout time.Duration) string {
	src, err := os.ReadFile(m.file)
	must(err)
	mutated, err := apply(src, m)
	if err != nil {
		return "NOT VIABLE (" + err.Error() + ")"
	}
	must(os.MkdirAll(dir, 0o755))
	abs, err := filepath.Abs(m.file)
	must(err)
	repl := filepath.Join(dir, filepath.Base(m.file))
	must(os.WriteFile(repl, mutated, 0o644))
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{abs: repl}})
	must(os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	args := []string{"test", "-count=1", "-failfast", "-overlay", filepath.Join(dir, "overlay.json"), "-timeout", timeout.String()}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	if run != "" {
		args = append(args, "-run", run)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	switch {
	case err == nil:
		return "LIVED"
	case ctx.Err() != nil || strings.Contains(out.String(), "test timed out"):
		return "TIMED OUT"
	case strings.Contains(out.String(), "[build failed]") || strings.Contains(out.String(), "[setup failed]"):
		return "NOT VIABLE"
	default:
		return "KILLED"
	}
}

// apply replaces the token at the mutant's position as gremlins would.
func apply(src []byte, m *mutant) ([]byte, error) {
	fset := token.NewFileSet()
	file := fset.AddFile(m.file, -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return nil, fmt.Errorf("no token at %d:%d", m.line, m.column)
		}
		p := fset.Position(pos)
		if p.Line != m.line || p.Column != m.column {
			continue
		}
		to, ok := mutations[m.typ][tok]
		if !ok {
			return nil, fmt.Errorf("%s does not apply to %q", m.typ, tok.String()+lit)
		}
		off := p.Offset
		out := append([]byte{}, src[:off]...)
		out = append(out, to.String()...)
		return append(out, src[off+len(tok.String()):]...), nil
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
