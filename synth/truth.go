package synth

import (
	"math"
	"math/rand/v2"
	"sync"
)

// Truth is what the generator knows about its scenario: Bayes-optimal
// accuracies. z given the class is Gaussian with a known covariance, so the Bayes
// decision is exact (a linear discriminant); its accuracy has no closed form for
// more than two classes and is estimated by Monte Carlo over Samples fresh
// entities of the model (their own generator streams, not the written ones), with
// the binomial standard error. "Where present" figures include the chance of the
// presence itself (class-dependent missingness makes it informative).
type Truth struct {
	Method  string `json:"method"`
	Samples int    `json:"samples"`
	// MaxPrior is the accuracy of always predicting the most frequent class.
	MaxPrior float64 `json:"max_prior_accuracy"`
	// Modalities: each modality alone, on the entities where it is present.
	Modalities []Rate `json:"modalities"`
	// Fused: every modality, all present (complete data).
	Fused Rate `json:"fused_complete"`
	// FusedMissing: the modalities each entity has, under the scenario's
	// missingness, over the entities with at least one (what a run scores).
	FusedMissing Rate `json:"fused"`
	// Drift is the truth on the splits that drift, when modalities drift (the
	// figures above are then those of the splits that do not).
	Drift *DriftTruth `json:"drift,omitempty"`
}

// Rate is a Bayes-optimal accuracy: against the true class, and the accuracy it
// implies against the written labels when label_noise replaced some.
type Rate struct {
	Name     string  `json:"name"`
	Accuracy float64 `json:"bayes_accuracy"`
	StdErr   float64 `json:"std_err"`
	VsLabels float64 `json:"bayes_accuracy_vs_labels"`
	Samples  int64   `json:"samples"`
}

const truthSamples = 200_000

// pattern is the fixed part of the Bayes discriminant for one set of present
// modalities S: C⁻¹ (the inverse of the noise correlation between modalities,
// Σ_S = C ⊗ I) and each class's quadratic term ½·Σ C⁻¹_mn s_m s_n μ_mcᵀμ_nc.
type pattern struct {
	idx  []int
	cinv []float64 // |S|×|S|
	quad []float64 // per class
}

func (md *model) pattern(mask uint, means [][]float64) *pattern {
	sc := md.sc
	p := &pattern{}
	for m := range sc.Modalities {
		if mask&(1<<m) != 0 {
			p.idx = append(p.idx, m)
		}
	}
	k := len(p.idx)
	// C = D + v·vᵀ, D = diag(1 − ρ), v = √ρ; Sherman–Morrison.
	dv := make([]float64, k)
	denom := 1.0
	for a, m := range p.idx {
		rho := sc.Modalities[m].Correlation
		dv[a] = math.Sqrt(rho) / (1 - rho)
		denom += rho / (1 - rho)
	}
	p.cinv = make([]float64, k*k)
	for a, m := range p.idx {
		for b := range p.idx {
			v := -dv[a] * dv[b] / denom
			if a == b {
				v += 1 / (1 - sc.Modalities[m].Correlation)
			}
			p.cinv[a*k+b] = v
		}
	}
	L := sc.Latent
	p.quad = make([]float64, sc.Classes)
	for c := range p.quad {
		q := 0.0
		for a, m := range p.idx {
			for b, n := range p.idx {
				dot := 0.0
				for j := 0; j < L; j++ {
					dot += means[m][c*L+j] * means[n][c*L+j]
				}
				q += p.cinv[a*k+b] * sc.Modalities[m].Separation * sc.Modalities[n].Separation * dot
			}
		}
		p.quad[c] = q / 2
	}
	return p
}

// decide is the Bayes decision, for class means means, from the signals of the
// modalities in p (whose quadratic terms were computed for the same means), with
// logPrior[c] the log prior of each class plus the log chance of the presence
// pattern; w is scratch (|S|·L).
func (md *model) decide(p *pattern, z [][]float64, logPrior, w []float64, means [][]float64) int {
	sc, L, k := md.sc, md.sc.Latent, len(p.idx)
	for a := range p.idx {
		for j := 0; j < L; j++ {
			s := 0.0
			for b, n := range p.idx {
				s += p.cinv[a*k+b] * z[n][j]
			}
			w[a*L+j] = s
		}
	}
	best, bestScore := 0, math.Inf(-1)
	for c := 0; c < sc.Classes; c++ {
		score := logPrior[c] - p.quad[c]
		for a, m := range p.idx {
			dot := 0.0
			for j := 0; j < L; j++ {
				dot += means[m][c*L+j] * w[a*L+j]
			}
			score += sc.Modalities[m].Separation * dot
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

// truth estimates the Bayes accuracies from n samples of the entities whose
// splits do not drift, and, when modalities drift, from n samples of those whose
// splits do (Truth.Drift).
func (md *model) truth(n, workers int) *Truth {
	sc := md.sc
	t := md.estimate(n, workers, false)
	tr := &Truth{Method: "Monte Carlo over fresh draws of the scenario's model, exact Bayes posteriors (linear discriminants of the Gaussian signals)", Samples: n}
	for _, p := range sc.Priors {
		tr.MaxPrior = max(tr.MaxPrior, p)
	}
	M := len(sc.Modalities)
	for m, mod := range sc.Modalities {
		tr.Modalities = append(tr.Modalities, t.rate(sc, mod.Name, m))
	}
	tr.Fused = t.rate(sc, "fused, every modality present", M)
	tr.FusedMissing = t.rate(sc, "fused, the modalities each entity has", M+1)
	if sc.drifted() {
		d := md.estimate(n, workers, true)
		dt := &DriftTruth{}
		for _, sp := range md.splits {
			if sc.drifts(sp) {
				dt.Splits = append(dt.Splits, sp)
			}
		}
		for m, mod := range sc.Modalities {
			dt.Modalities = append(dt.Modalities, d.rate(sc, mod.Name, m))
			dt.TrainRule = append(dt.TrainRule, d.rate(sc, mod.Name, M+2+m))
		}
		dt.Fused = d.rate(sc, "fused, the modalities each entity has", M+1)
		dt.FusedTrainRule = d.rate(sc, "fused, the training distribution's rule", 2*M+2)
		tr.Drift = dt
	}
	return tr
}

// DriftTruth is the truth on the drifting splits: the Bayes rule that knows the
// drift (the best any model can do there), and the training distribution's Bayes
// rule applied to them (what a perfect model fitted before the drift does).
type DriftTruth struct {
	Splits         []string `json:"splits"`
	Modalities     []Rate   `json:"modalities"`
	TrainRule      []Rate   `json:"modalities_training_rule"`
	Fused          Rate     `json:"fused"`
	FusedTrainRule Rate     `json:"fused_training_rule"`
}

// tally counts right decisions: per modality, complete fused, fused with
// missingness; then (drift) per modality and fused under the training rule.
type tally struct{ right, seen []int64 }

func (t *tally) rate(sc *Scenario, name string, j int) Rate {
	r := Rate{Name: name, Samples: t.seen[j]}
	if r.Samples > 0 {
		a := float64(t.right[j]) / float64(r.Samples)
		r.Accuracy, r.StdErr = a, math.Sqrt(a*(1-a)/float64(r.Samples))
		eta := sc.LabelNoise
		r.VsLabels = a*(1-eta) + (1-a)*eta/float64(sc.Classes-1)
	}
	return r
}

// parts lists the partitions whose entities drift (or not): all of them unless
// the partitions decide the splits.
func (md *model) parts(drift bool) []int {
	p := md.sc.Partitions
	if p == nil {
		return []int{0}
	}
	var out []int
	for i, v := range p.Values {
		split, ok := p.Splits[v]
		if !ok || md.sc.drifts(split) == drift {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		for i := range p.Values {
			out = append(out, i)
		}
	}
	return out
}

// estimate draws n entities (drifted or not) in fixed chunks on workers
// goroutines; integer counts, so the result does not depend on them.
func (md *model) estimate(n, workers int, drift bool) *tally {
	sc := md.sc
	M := len(sc.Modalities)
	const chunk = 8192
	chunks := (n + chunk - 1) / chunk
	size := M + 2
	if drift {
		size = 2*M + 3
	}
	total := &tally{right: make([]int64, size), seen: make([]int64, size)}
	var mu, cacheMu sync.Mutex
	type ckey struct {
		mask  uint
		drift bool
	}
	cache := map[ckey]*pattern{}
	get := func(mask uint, drifted bool) *pattern {
		cacheMu.Lock()
		defer cacheMu.Unlock()
		k := ckey{mask, drifted}
		if p, ok := cache[k]; ok {
			return p
		}
		means := md.means
		if drifted {
			means = md.drifted
		}
		p := md.pattern(mask, means)
		cache[k] = p
		return p
	}
	parts := md.parts(drift)
	// The chance of a presence pattern given the class: an average over the
	// partitions of the product over modalities.
	logPattern := func(c int, present []bool, only int) float64 {
		total := 0.0
		for _, p := range parts {
			prob := 1.0
			for m := range sc.Modalities {
				if only >= 0 && m != only {
					continue
				}
				r := sc.Modalities[m].missingRate(c, md.partition(p))
				if present[m] {
					prob *= 1 - r
				} else {
					prob *= r
				}
			}
			total += prob
		}
		return math.Log(total / float64(len(parts)))
	}
	logPrior := make([]float64, sc.Classes)
	for c, p := range sc.Priors {
		logPrior[c] = math.Log(p)
	}
	stream := uint64(streamTruth)
	if drift {
		stream += 1 << 36
	}
	work := make(chan int, chunks)
	for c := 0; c < chunks; c++ {
		work <- c
	}
	close(work)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := &tally{right: make([]int64, size), seen: make([]int64, size)}
			pcg := rand.NewPCG(0, 0)
			rng := rand.New(pcg)
			e := newEntity(sc)
			lp := make([]float64, sc.Classes)
			w := make([]float64, M*sc.Latent)
			oracle := md.means // the rule that knows the entities' distribution
			if drift {
				oracle = md.drifted
			}
			count := func(j int, p *pattern, lp []float64, means [][]float64) {
				t.seen[j]++
				if md.decide(p, e.z, lp, w, means) == e.class {
					t.right[j]++
				}
			}
			for ch := range work {
				for i := ch * chunk; i < min((ch+1)*chunk, n); i++ {
					pcg.Seed(sc.Seed, stream+uint64(i))
					e.class = pick(md.priorCum, rng.Float64())
					e.part = parts[rng.IntN(len(parts))]
					e.drift = drift
					for j := range e.u {
						e.u[j] = rng.NormFloat64()
					}
					md.signals(rng, e)
					var mask uint
					for m := range sc.Modalities {
						e.present[m] = rng.Float64() >= sc.Modalities[m].missingRate(e.class, md.partition(e.part))
						if e.present[m] {
							mask |= 1 << m
						}
					}
					for m := range sc.Modalities {
						if !e.present[m] {
							continue
						}
						for c := range lp {
							lp[c] = logPrior[c] + logPattern(c, e.present, m)
						}
						count(m, get(1<<m, drift), lp, oracle)
						if drift {
							count(M+2+m, get(1<<m, false), lp, md.means)
						}
					}
					count(M, get(uint(1)<<M-1, drift), logPrior, oracle)
					if mask != 0 {
						for c := range lp {
							lp[c] = logPrior[c] + logPattern(c, e.present, -1)
						}
						count(M+1, get(mask, drift), lp, oracle)
						if drift {
							count(2*M+2, get(mask, false), lp, md.means)
						}
					}
				}
			}
			mu.Lock()
			for j := range t.right {
				total.right[j] += t.right[j]
				total.seen[j] += t.seen[j]
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

// resolveAccuracy sets the separation of every modality that gives a target
// accuracy instead: the separation whose Bayes accuracy (the modality alone, on
// a Monte Carlo sample of 40,000 draws of its own stream) meets the target, by
// bisection. The accuracy grows with the separation, from the most frequent
// class's share at 0 towards 1.
func (s *Scenario) resolveAccuracy() {
	for i := range s.Modalities {
		m := &s.Modalities[i]
		if m.Accuracy == 0 {
			continue
		}
		// The whole scenario (modality i's class means depend on its place), with
		// nothing missing for modality i: its accuracy alone, where present.
		one := s.clone()
		one.Sweep = nil
		o := &one.Modalities[i]
		o.Accuracy, o.Missing, o.MissingByClass, o.MissingByPartition = 0, 0, nil, nil
		lo, hi := 0.0, 16.0
		for range 30 {
			mid := (lo + hi) / 2
			o.Separation = mid
			t := newModel(one).estimate(40_000, 1, false)
			if float64(t.right[i])/float64(t.seen[i]) < m.Accuracy {
				lo = mid
			} else {
				hi = mid
			}
		}
		m.Separation = (lo + hi) / 2
	}
}
