package synth

import (
	"math"
	"math/rand/v2"
	"slices"
)

// model is a scenario's fixed parts: class means, projections, cumulative priors
// and splits.
type model struct {
	sc       *Scenario
	means    [][]float64 // per modality: Classes×Latent unit vectors, row-major
	drifted  [][]float64 // the same after drift (the means where a modality does not drift)
	proj     [][]float64 // per features modality: Dim×Latent, orthonormal columns, row-major
	priorCum []float64
	splits   []string
	splitCum []float64
}

// Streams of the generator: entity i draws from PCG(seed, i); the fixed parts
// and the Monte Carlo truth from PCG(seed, stream + …), far from any entity.
const (
	streamMeans = 1 << 62
	streamTruth = 1<<62 + 1<<40
)

func newModel(sc *Scenario) *model {
	md := &model{sc: sc}
	md.splits, md.splitCum = sc.splitNames()
	acc := 0.0
	for _, p := range sc.Priors {
		acc += p
		md.priorCum = append(md.priorCum, acc)
	}
	L := sc.Latent
	for mi, m := range sc.Modalities {
		rng := rand.New(rand.NewPCG(sc.Seed, streamMeans+uint64(mi)))
		means := make([]float64, sc.Classes*L)
		for c := 0; c < sc.Classes; c++ {
			v := means[c*L : (c+1)*L]
			norm := 0.0
			for j := range v {
				v[j] = rng.NormFloat64()
				norm += v[j] * v[j]
			}
			for j := range v {
				v[j] /= math.Sqrt(norm)
			}
		}
		md.means = append(md.means, means)
		// Drift: each class mean moves towards a fixed random direction.
		drifted := means
		if m.Drift > 0 {
			drifted = make([]float64, len(means))
			for c := 0; c < sc.Classes; c++ {
				v := drifted[c*L : (c+1)*L]
				norm, dn := 0.0, 0.0
				for j := range v {
					v[j] = rng.NormFloat64()
					dn += v[j] * v[j]
				}
				for j := range v {
					v[j] = means[c*L+j] + m.Drift*v[j]/math.Sqrt(dn)
					norm += v[j] * v[j]
				}
				for j := range v {
					v[j] /= math.Sqrt(norm)
				}
			}
		}
		md.drifted = append(md.drifted, drifted)
		var proj []float64
		if m.Dim > 0 {
			proj = orthonormalColumns(rng, m.Dim, L)
		}
		md.proj = append(md.proj, proj)
	}
	return md
}

// orthonormalColumns is a D×L matrix (row-major) with orthonormal columns:
// Gram–Schmidt on Gaussian columns.
func orthonormalColumns(rng *rand.Rand, d, l int) []float64 {
	p := make([]float64, d*l)
	for i := range p {
		p[i] = rng.NormFloat64()
	}
	for c := 0; c < l; c++ {
		for prev := 0; prev < c; prev++ {
			dot := 0.0
			for r := 0; r < d; r++ {
				dot += p[r*l+c] * p[r*l+prev]
			}
			for r := 0; r < d; r++ {
				p[r*l+c] -= dot * p[r*l+prev]
			}
		}
		norm := 0.0
		for r := 0; r < d; r++ {
			norm += p[r*l+c] * p[r*l+c]
		}
		for r := 0; r < d; r++ {
			p[r*l+c] /= math.Sqrt(norm)
		}
	}
	return p
}

// entity is one entity's draw.
type entity struct {
	class, label, split int
	part                int         // partition index (0 without partitions)
	drift               bool        // the entity's split drifts
	z                   [][]float64 // per modality: the signal
	present, dup, bad   []bool      // per modality
	u                   []float64   // the shared latent
}

func newEntity(sc *Scenario) *entity {
	e := &entity{u: make([]float64, sc.Latent)}
	for range sc.Modalities {
		e.z = append(e.z, make([]float64, sc.Latent))
	}
	e.present = make([]bool, len(sc.Modalities))
	e.dup = make([]bool, len(sc.Modalities))
	e.bad = make([]bool, len(sc.Modalities))
	return e
}

func pick(cum []float64, u float64) int {
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}

// draw fills e with entity i's class, label, split, signals and row fates, in a
// fixed order of draws from rng (seeded by the caller with (seed, i)).
func (md *model) draw(rng *rand.Rand, e *entity) {
	sc := md.sc
	e.class = pick(md.priorCum, rng.Float64())
	e.label = e.class
	if flip := rng.Float64(); flip < sc.LabelNoise {
		other := rng.IntN(sc.Classes - 1)
		if other >= e.class {
			other++
		}
		e.label = other
	}
	e.split = pick(md.splitCum, rng.Float64())
	if p := sc.Partitions; p != nil {
		e.part = rng.IntN(len(p.Values))
		if split, ok := p.Splits[p.Values[e.part]]; ok {
			e.split = slices.Index(md.splits, split)
		}
	}
	e.drift = sc.drifts(md.splits[e.split])
	for j := range e.u {
		e.u[j] = rng.NormFloat64()
	}
	md.signals(rng, e)
	for mi := range sc.Modalities {
		m := &sc.Modalities[mi]
		e.present[mi] = rng.Float64() >= m.missingRate(e.class, md.partition(e.part))
		e.dup[mi] = rng.Float64() < m.Duplicates
		e.bad[mi] = rng.Float64() < m.Invalid
	}
}

// partition is partition index p's value ("" without partitions).
func (md *model) partition(p int) string {
	if md.sc.Partitions == nil {
		return ""
	}
	return md.sc.Partitions.Values[p]
}

// signals draws every modality's z given e.class and e.u, from the drifted
// means when e.drift.
func (md *model) signals(rng *rand.Rand, e *entity) {
	L := md.sc.Latent
	means := md.means
	if e.drift {
		means = md.drifted
	}
	for mi := range md.sc.Modalities {
		m := &md.sc.Modalities[mi]
		a, b := math.Sqrt(m.Correlation), math.Sqrt(1-m.Correlation)
		mu := means[mi][e.class*L : (e.class+1)*L]
		for j := range e.z[mi] {
			e.z[mi][j] = m.Separation*mu[j] + a*e.u[j] + b*rng.NormFloat64()
		}
	}
}

// posterior writes modality mi's Bayes posterior p(c | z) into out: z given c is
// N(s·μ_c, I) and every |μ_c| = 1, so p(c | z) ∝ π_c·exp(s·μ_cᵀz).
func (md *model) posterior(mi int, z, out []float64) {
	L, s := md.sc.Latent, md.sc.Modalities[mi].Separation
	mx := math.Inf(-1)
	for c := range out {
		dot := 0.0
		for j, v := range md.means[mi][c*L : (c+1)*L] {
			dot += v * z[j]
		}
		out[c] = math.Log(md.sc.Priors[c]) + s*dot
		mx = max(mx, out[c])
	}
	total := 0.0
	for c := range out {
		out[c] = math.Exp(out[c] - mx)
		total += out[c]
	}
	for c := range out {
		out[c] /= total
	}
}

// features writes modality mi's feature vector x = P·z + η into x, η drawn in the
// complement of P's columns (g − P·Pᵀg, g ~ N(0, I)).
func (md *model) features(rng *rand.Rand, mi int, z, x, g []float64) {
	L, P := md.sc.Latent, md.proj[mi]
	d := len(x)
	tau := 1.0
	if n := md.sc.Modalities[mi].Noise; n != nil {
		tau = *n
	}
	for r := range g {
		g[r] = tau * rng.NormFloat64()
	}
	var ptg [64]float64
	for c := 0; c < L; c++ {
		s := 0.0
		for r := 0; r < d; r++ {
			s += P[r*L+c] * g[r]
		}
		ptg[c] = s
	}
	for r := 0; r < d; r++ {
		v := g[r]
		for c := 0; c < L; c++ {
			v += P[r*L+c] * (z[c] - ptg[c])
		}
		x[r] = v
	}
}
