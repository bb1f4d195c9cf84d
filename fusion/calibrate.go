package fusion

import (
	"fmt"
	"math"
)

// Calibrator maps one modality's class probabilities to calibrated ones. It is
// fitted on out-of-fold probabilities of the training rows.
type Calibrator struct {
	// Kind is "temperature": p' = softmax(log p / T), for any number of classes
	// (Guo et al., 2017); or "platt": p'(1) = σ(A·logit p(1) + B), for binary tasks
	// (Platt, 1999; without his target smoothing).
	Kind string  `json:"kind"`
	T    float64 `json:"t,omitempty"`
	A    float64 `json:"a,omitempty"`
	B    float64 `json:"b,omitempty"`
}

const probFloor = 1e-15

// checkCalibration rejects a calibration kind no calibrator implements.
func checkCalibration(kind string) error {
	switch kind {
	case "", "none", "temperature", "platt":
		return nil
	}
	return fmt.Errorf("%w: calibration %q: want none, temperature or platt", ErrConfig, kind)
}

// fitCalibrator fits kind on the rows' probability vectors p (n×k) and labels.
func fitCalibrator(kind string, p []float64, y []int32, k int) (*Calibrator, error) {
	switch kind {
	case "", "none":
		return nil, nil
	case "temperature":
		return &Calibrator{Kind: kind, T: fitTemperature(p, y, k)}, nil
	case "platt":
		if k != 2 {
			return nil, fmt.Errorf("%w: platt calibration needs a binary task, not %d classes", ErrConfig, k)
		}
		a, b := fitPlatt(p, y)
		return &Calibrator{Kind: kind, A: a, B: b}, nil
	}
	return nil, checkCalibration(kind)
}

// Apply writes the calibrated version of p into dst (which may be p).
func (c *Calibrator) Apply(p, dst []float64) {
	if c == nil {
		copy(dst, p)
		return
	}
	switch c.Kind {
	case "temperature":
		for j, v := range p {
			dst[j] = math.Log(max(v, probFloor)) / c.T
		}
		softmax(dst)
	case "platt":
		z := c.A*logit(p[1]) + c.B
		dst[1] = 1 / (1 + expFast(-z))
		dst[0] = 1 - dst[1]
	}
}

func logit(p float64) float64 {
	p = min(max(p, probFloor), 1-probFloor)
	return math.Log(p / (1 - p))
}

// fitTemperature minimises the log loss of softmax(log p · β) over β = 1/T, a convex
// problem in β, by golden-section search on log β in [-7, 7].
func fitTemperature(p []float64, y []int32, k int) float64 {
	logp := make([]float64, len(p))
	for i, v := range p {
		logp[i] = math.Log(max(v, probFloor))
	}
	z := make([]float64, k)
	nll := func(lb float64) float64 {
		beta := expFast(lb)
		s := 0.0
		for i, label := range y {
			for j := 0; j < k; j++ {
				z[j] = beta * logp[i*k+j]
			}
			s += logSumExp(z) - z[label]
		}
		return s
	}
	lo, hi := -7.0, 7.0
	phi := (math.Sqrt(5) - 1) / 2
	a, b := hi-phi*(hi-lo), lo+phi*(hi-lo)
	fa, fb := nll(a), nll(b)
	for i := 0; i < 80; i++ {
		if fa <= fb {
			hi, b, fb = b, a, fa
			a = hi - phi*(hi-lo)
			fa = nll(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + phi*(hi-lo)
			fb = nll(b)
		}
	}
	return 1 / expFast((lo+hi)/2)
}

// fitPlatt fits σ(A·logit p(1) + B) to the labels by Newton's method on the
// logistic loss (a tiny ridge keeps separable data finite), with a backtracking
// line search: plain Newton steps from A = 1 diverge on overconfident inputs,
// the very ones calibration is for.
func fitPlatt(p []float64, y []int32) (float64, float64) {
	n := len(y)
	x := make([]float64, n)
	for i := range x {
		x[i] = logit(p[2*i+1])
	}
	a, b := 1.0, 0.0
	const ridge = 1e-6
	loss := func(a, b float64) float64 {
		s := ridge * a * a / 2
		for i := 0; i < n; i++ {
			z := a*x[i] + b
			// log(1 + e^z) − y·z, computed without overflow.
			s += softplus(z) - float64(y[i])*z
		}
		return s
	}
	for iter := 0; iter < 100; iter++ {
		var ga, gb, haa, hab, hbb float64
		for i := 0; i < n; i++ {
			q := 1 / (1 + expFast(-(a*x[i] + b)))
			r := q - float64(y[i])
			w := q * (1 - q)
			ga += r * x[i]
			gb += r
			haa += w * x[i] * x[i]
			hab += w * x[i]
			hbb += w
		}
		ga += ridge * a
		haa += ridge
		hbb += ridge
		det := haa*hbb - hab*hab
		if det <= 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		step, cur := 1.0, loss(a, b)
		for step > 1e-10 && loss(a-step*da, b-step*db) > cur {
			step /= 2
		}
		a, b = a-step*da, b-step*db
		if step*(math.Abs(da)+math.Abs(db)) < 1e-12 {
			break
		}
	}
	return a, b
}
