package fusion

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// LogRegOptions configures FitLogReg. The zero value means defaults.
type LogRegOptions struct {
	// C is the inverse L2 strength, as in scikit-learn (default 1): the objective is
	// sum of cross-entropy + ||W||² / (2C); intercepts are not penalised.
	C float64
	// MaxIter bounds L-BFGS iterations (default 500).
	MaxIter int
	// Tol ends the fit when no component of the summed loss's gradient exceeds it
	// (default 1e-4, scikit-learn's tol: scikit-learn 1.2's lbfgs minimises the
	// sum over rows, so this is Tol/n on the mean that FitLogReg minimises); see
	// minimize for the whole stopping rule.
	Tol float64
	// Init, if set, is where the fit starts: a model of the same shape fitted on
	// other rows (the full model, for an out-of-fold fit), mapped onto this fit's
	// standardisation. A warm start ends sooner and ends at the same optimum,
	// within Tol.
	Init *LogReg
	// NoStandardize fits on the features as given (for features already on a
	// common scale, such as L2-normalised embeddings).
	NoStandardize bool
	// FeatureWeights, if set, multiplies each standardised feature (len = dim, each
	// > 0): a weight above 1 lets the L2 penalty shrink that feature less.
	FeatureWeights []float64
}

func (o *LogRegOptions) withDefaults() LogRegOptions {
	out := LogRegOptions{C: 1, MaxIter: 500, Tol: defaultTol}
	if o != nil {
		if o.Tol > 0 {
			out.Tol = o.Tol
		}
		out.Init = o.Init
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

// FitLogReg fits a multinomial logistic regression with L-BFGS (linearObjective,
// minimize: scikit-learn's solver and stopping rule). X is n×dim row-major, y
// holds class indexes in [0, classes). The fit is deterministic and independent
// of the number of CPUs.
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
	x0 := make([]float64, np)
	if o.Init != nil {
		m.warmStart(o.Init, x0)
	}
	obj := newLinearObjective(Z, y, dim, classes, o.C)
	obj.rowLoss = softmaxLoss
	x, iter, err := obj.minimize(ctx, x0, o.Tol/float64(n), o.MaxIter)
	if err != nil {
		return nil, fmt.Errorf("fusion: logistic regression: %w", err)
	}
	m.Weights = append([]float64(nil), x[:classes*dim]...)
	m.Bias = append([]float64(nil), x[classes*dim:]...)
	m.Iter = iter
	return m, nil
}

// warmStart writes into x0 (W then b, on m's standardisation) the parameters
// under which m computes the same scores as init, a model of the same shape
// fitted on other rows (so on another standardisation); a model of another shape
// leaves x0 at zero.
func (m *LogReg) warmStart(init *LogReg, x0 []float64) {
	if init.Classes != m.Classes || init.Dim != m.Dim || len(init.Weights) != m.Classes*m.Dim {
		return
	}
	restandardise(init.Weights, init.Bias, init.Mean, init.Scale, m.Mean, m.Scale, x0)
}

// restandardise writes into x0 (weights, then biases) the parameters of a linear
// model on features standardised by (mean, scale) that computes the same scores as
// the model (w, b) on features standardised by (wMean, wScale):
// w·(x − μ')/σ' = (w·σ/σ')·(x − μ)/σ + w·(μ − μ')/σ'.
func restandardise(w, b, wMean, wScale, mean, scale, x0 []float64) {
	d, k := len(mean), len(b)
	for c := 0; c < k; c++ {
		bias := b[c]
		for j := 0; j < d; j++ {
			wj := w[c*d+j]
			x0[c*d+j] = wj * scale[j] / wScale[j]
			bias += wj * (mean[j] - wMean[j]) / wScale[j]
		}
		x0[k*d+c] = bias
	}
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
		z[k] = expFast(z[k] - lse)
	}
}

func logSumExp(z []float64) float64 {
	mx := z[0]
	for _, v := range z[1:] {
		mx = max(mx, v)
	}
	s := 0.0
	for _, v := range z {
		s += expFast(v - mx)
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
