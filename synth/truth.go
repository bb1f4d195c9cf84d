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

func (md *model) pattern(mask uint) *pattern {
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
					dot += md.means[m][c*L+j] * md.means[n][c*L+j]
				}
				q += p.cinv[a*k+b] * sc.Modalities[m].Separation * sc.Modalities[n].Separation * dot
			}
		}
		p.quad[c] = q / 2
	}
	return p
}

// decide is the Bayes decision from the signals of the modalities in p, with
// logPrior[c] the log prior of each class plus the log chance of the presence
// pattern; w is scratch (|S|·L).
func (md *model) decide(p *pattern, z [][]float64, logPrior, w []float64) int {
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
				dot += md.means[m][c*L+j] * w[a*L+j]
			}
			score += sc.Modalities[m].Separation * dot
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

// truth estimates the Bayes accuracies from n samples, in fixed chunks run on
// workers goroutines (integer counts: the result does not depend on them).
func (md *model) truth(n, workers int) *Truth {
	sc := md.sc
	M := len(sc.Modalities)
	const chunk = 8192
	chunks := (n + chunk - 1) / chunk
	type tally struct {
		right, seen []int64 // per modality, then complete fused, then fused with missingness
	}
	total := tally{right: make([]int64, M+2), seen: make([]int64, M+2)}
	var mu sync.Mutex
	var cacheMu sync.Mutex
	cache := map[uint]*pattern{}
	get := func(mask uint) *pattern {
		cacheMu.Lock()
		defer cacheMu.Unlock()
		if p, ok := cache[mask]; ok {
			return p
		}
		p := md.pattern(mask)
		cache[mask] = p
		return p
	}
	logPrior := make([]float64, sc.Classes)
	for c, p := range sc.Priors {
		logPrior[c] = math.Log(p)
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
			t := tally{right: make([]int64, M+2), seen: make([]int64, M+2)}
			pcg := rand.NewPCG(0, 0)
			rng := rand.New(pcg)
			e := newEntity(sc)
			lp := make([]float64, sc.Classes)
			w := make([]float64, M*sc.Latent)
			for ch := range work {
				for i := ch * chunk; i < min((ch+1)*chunk, n); i++ {
					pcg.Seed(sc.Seed, streamTruth+uint64(i))
					e.class = pick(md.priorCum, rng.Float64())
					for j := range e.u {
						e.u[j] = rng.NormFloat64()
					}
					md.signals(rng, e)
					var mask uint
					for m := range sc.Modalities {
						e.present[m] = rng.Float64() >= sc.Modalities[m].missingRate(e.class)
						if e.present[m] {
							mask |= 1 << m
						}
					}
					for m := range sc.Modalities {
						if !e.present[m] {
							continue
						}
						mod := &sc.Modalities[m]
						for c := range lp {
							lp[c] = logPrior[c] + math.Log(1-mod.missingRate(c))
						}
						t.seen[m]++
						if md.decide(get(1<<m), e.z, lp, w) == e.class {
							t.right[m]++
						}
					}
					all := uint(1)<<M - 1
					t.seen[M]++
					if md.decide(get(all), e.z, logPrior, w) == e.class {
						t.right[M]++
					}
					if mask != 0 {
						for c := range lp {
							lp[c] = logPrior[c]
							for m := range sc.Modalities {
								r := sc.Modalities[m].missingRate(c)
								if e.present[m] {
									lp[c] += math.Log(1 - r)
								} else {
									lp[c] += math.Log(r)
								}
							}
						}
						t.seen[M+1]++
						if md.decide(get(mask), e.z, lp, w) == e.class {
							t.right[M+1]++
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
	rate := func(name string, j int) Rate {
		r := Rate{Name: name, Samples: total.seen[j]}
		if r.Samples > 0 {
			a := float64(total.right[j]) / float64(r.Samples)
			r.Accuracy, r.StdErr = a, math.Sqrt(a*(1-a)/float64(r.Samples))
			eta := sc.LabelNoise
			r.VsLabels = a*(1-eta) + (1-a)*eta/float64(sc.Classes-1)
		}
		return r
	}
	tr := &Truth{Method: "Monte Carlo over fresh draws of the scenario's model, exact Bayes posteriors (linear discriminants of the Gaussian signals)", Samples: n}
	for _, p := range sc.Priors {
		tr.MaxPrior = max(tr.MaxPrior, p)
	}
	for m, mod := range sc.Modalities {
		tr.Modalities = append(tr.Modalities, rate(mod.Name, m))
	}
	tr.Fused = rate("fused, every modality present", M)
	tr.FusedMissing = rate("fused, the modalities each entity has", M+1)
	return tr
}
