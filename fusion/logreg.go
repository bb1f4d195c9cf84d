package fusion

import (
	"context"
	"fmt"
	"math"

	"golang.org/x/sync/errgroup"
	"gonum.org/v1/gonum/optimize"
)

// LogRegOptions configures FitLogReg. The zero value means defaults.
type LogRegOptions struct {
	// C is the inverse L2 strength, as in scikit-learn (default 1): the objective is
	// sum of cross-entropy + ||W||² / (2C); intercepts are not penalised.
	C float64
	// MaxIter bounds L-BFGS iterations (default 500).
	MaxIter int
	// NoStandardize fits on the features as given (for features already on a
	// common scale, such as L2-normalised embeddings).
	NoStandardize bool
	// FeatureWeights, if set, multiplies each standardised feature (len = dim, each
	// > 0): a weight above 1 lets the L2 penalty shrink that feature less.
	FeatureWeights []float64
}

func (o *LogRegOptions) withDefaults() LogRegOptions {
	out := LogRegOptions{C: 1, MaxIter: 500}
	if o != nil {
		if o.C > 0 {
			out.C = o.C
		}
		if o.MaxIter > 0 {
			out.MaxIter = o.MaxIter
		}
		out.NoStandardize, out.FeatureWeights = o.NoStandardize, o.FeatureWeights
	}
	return out
}

// LogReg is a fitted multinomial logistic regression on standardised features.
type LogReg struct {
	Classes int       `json:"classes"`
	Dim     int       `json:"dim"`
	Mean    []float64 `json:"mean"`    // feature means on the training rows
	Scale   []float64 `json:"scale"`   // feature standard deviations (1 where constant)
	Weights []float64 `json:"weights"` // Classes×Dim, row-major, on standardised features
	Bias    []float64 `json:"bias"`
	Iter    int       `json:"iterations"`
}

// gradChunks fixes how the rows are split for the parallel gradient, so that the
// floating-point sums (and so the fitted model) do not depend on GOMAXPROCS.
const gradChunks = 8

// FitLogReg fits a multinomial logistic regression with L-BFGS. X is n×dim
// row-major, y holds class indexes in [0, classes). The fit is deterministic.
func FitLogReg(ctx context.Context, X []float64, y []int32, dim, classes int, opts *LogRegOptions) (*LogReg, error) {
	o := opts.withDefaults()
	n := len(y)
	if n == 0 {
		return nil, ErrNoTrainingRows
	}
	if len(X) != n*dim {
		return nil, fmt.Errorf("%w: %d values for %d rows of %d features", ErrShape, len(X), n, dim)
	}
	if o.FeatureWeights != nil && len(o.FeatureWeights) != dim {
		return nil, fmt.Errorf("%w: %d feature weights for %d features", ErrShape, len(o.FeatureWeights), dim)
	}
	m := &LogReg{Classes: classes, Dim: dim, Mean: make([]float64, dim), Scale: make([]float64, dim)}
	for i := 0; i < n; i++ {
		for j, v := range X[i*dim : (i+1)*dim] {
			m.Mean[j] += v
		}
	}
	for j := range m.Mean {
		m.Mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j, v := range X[i*dim : (i+1)*dim] {
			d := v - m.Mean[j]
			m.Scale[j] += d * d
		}
	}
	for j := range m.Scale {
		s := math.Sqrt(m.Scale[j] / float64(n))
		if s < 1e-12 || math.IsNaN(s) {
			s = 1 // constant feature: centring alone makes it zero
		}
		m.Scale[j] = s
		if o.NoStandardize {
			m.Mean[j], m.Scale[j] = 0, 1
		}
		if o.FeatureWeights != nil {
			m.Scale[j] /= o.FeatureWeights[j]
		}
	}
	Z := make([]float64, len(X))
	for i := 0; i < n; i++ {
		for j := 0; j < dim; j++ {
			Z[i*dim+j] = (X[i*dim+j] - m.Mean[j]) / m.Scale[j]
		}
	}

	np := classes*dim + classes
	lambda := 1 / (o.C * float64(n)) // objective is divided by n for conditioning
	var (
		lastX    = make([]float64, np)
		lastF    float64
		lastG    = make([]float64, np)
		haveLast bool
		partG    = make([][]float64, gradChunks)
		partF    = make([]float64, gradChunks)
	)
	for c := range partG {
		partG[c] = make([]float64, np)
	}
	eval := func(x []float64) {
		if haveLast && equal(x, lastX) {
			return
		}
		W, B := x[:classes*dim], x[classes*dim:]
		var g errgroup.Group
		for c := 0; c < gradChunks; c++ {
			g.Go(func() error {
				lo, hi := n*c/gradChunks, n*(c+1)/gradChunks
				grad := partG[c]
				clear(grad)
				z := make([]float64, classes)
				f := 0.0
				for i := lo; i < hi; i++ {
					row := Z[i*dim : (i+1)*dim]
					for k := 0; k < classes; k++ {
						z[k] = B[k] + dot(W[k*dim:(k+1)*dim], row)
					}
					lse := logSumExp(z)
					f += lse - z[y[i]]
					for k := 0; k < classes; k++ {
						p := math.Exp(z[k] - lse)
						if k == int(y[i]) {
							p--
						}
						axpy(grad[k*dim:(k+1)*dim], p, row)
						grad[classes*dim+k] += p
					}
				}
				partF[c] = f
				return nil
			})
		}
		_ = g.Wait()
		f := 0.0
		clear(lastG)
		for c := 0; c < gradChunks; c++ {
			f += partF[c]
			for j, v := range partG[c] {
				lastG[j] += v
			}
		}
		inv := 1 / float64(n)
		reg := 0.0
		for j := 0; j < classes*dim; j++ {
			reg += W[j] * W[j]
			lastG[j] = lastG[j]*inv + lambda*W[j]
		}
		for k := 0; k < classes; k++ {
			lastG[classes*dim+k] *= inv
		}
		lastF = f*inv + 0.5*lambda*reg
		copy(lastX, x)
		haveLast = true
	}
	problem := optimize.Problem{
		Func:   func(x []float64) float64 { eval(x); return lastF },
		Grad:   func(grad, x []float64) { eval(x); copy(grad, lastG) },
		Status: stopOnCancel(ctx),
	}
	res, err := optimize.Minimize(problem, make([]float64, np), &optimize.Settings{
		GradientThreshold: 1e-7,
		MajorIterations:   o.MaxIter,
	}, &optimize.LBFGS{})
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	if res == nil {
		return nil, fmt.Errorf("fusion: logistic regression: %v", err)
	}
	// A line search that cannot improve further at a tiny gradient is convergence
	// in all but name; res.X is the best point found either way.
	m.Weights = append([]float64(nil), res.X[:classes*dim]...)
	m.Bias = append([]float64(nil), res.X[classes*dim:]...)
	m.Iter = res.Stats.MajorIterations
	return m, nil
}

// stopOnCancel is an optimize.Problem's Status: the minimisation ends when ctx
// does.
func stopOnCancel(ctx context.Context) func() (optimize.Status, error) {
	return func() (optimize.Status, error) {
		if err := ctx.Err(); err != nil {
			return optimize.Failure, err
		}
		return optimize.NotTerminated, nil
	}
}

// PredictProba writes the class probabilities of one raw (unstandardised) row.
func (m *LogReg) PredictProba(x, out []float64) {
	for k := 0; k < m.Classes; k++ {
		z := m.Bias[k]
		w := m.Weights[k*m.Dim : (k+1)*m.Dim]
		for j, v := range x {
			z += w[j] * (v - m.Mean[j]) / m.Scale[j]
		}
		out[k] = z
	}
	softmax(out)
}

func softmax(z []float64) {
	lse := logSumExp(z)
	for k := range z {
		z[k] = math.Exp(z[k] - lse)
	}
}

func logSumExp(z []float64) float64 {
	mx := z[0]
	for _, v := range z[1:] {
		mx = max(mx, v)
	}
	s := 0.0
	for _, v := range z {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func axpy(dst []float64, a float64, x []float64) {
	for i := range x {
		dst[i] += a * x[i]
	}
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
