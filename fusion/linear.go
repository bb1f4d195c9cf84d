package fusion

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/lakefuse/lakefuse/internal/dotk"
	"gonum.org/v1/gonum/optimize"
)

// linearObjective is the training loss of a linear model on standardised rows:
// scores z_i = W·x_i + b (W is classes×dim, x_i a row of X), a per-row loss
// ℓ(z_i, y_i), and the L2 penalty ‖W‖²/(2Cn) on the mean loss; the intercepts are
// not penalised. The scores of all rows are one matrix product, X·Wᵀ, and the
// gradient another, Gᵀ·X with G the rows' ∂ℓ/∂z, computed as Gᵀ·(Xᵀ)ᵀ from a
// transposed copy of X so that both are rows dotted with rows (internal/dotk:
// AVX2 where the CPU has it, one fixed rounding recipe everywhere, so the
// products are bit-identical on every machine and any number of CPUs; so are
// the exponentials, expFast rather than Go's math.Exp, which takes an FMA path
// on amd64 CPUs that have one). The per-row
// losses run in gradChunks fixed chunks whose partial sums are added in chunk
// order, so the value and gradient are the same on any number of CPUs.
type linearObjective struct {
	n, dim, classes int
	X, Xt           []float64 // n×dim, and its transpose (dim×n)
	y               []int32
	lambda          float64 // 1/(C·n)
	// rowLoss returns row i's loss given its scores z and writes ∂ℓ/∂z over z;
	// scratch is the chunk's own buffer of scratchLen values.
	rowLoss    func(z []float64, y int32, scratch []float64) float64
	scratchLen int

	Z       []float64 // n×classes: scores, then ∂ℓ/∂z
	Zt      []float64 // classes×n: ∂ℓ/∂z transposed
	partF   [gradChunks]float64
	scratch [gradChunks][]float64
	// the last point evaluated, as the optimiser asks for the value and the
	// gradient at one point separately
	lastX, lastG []float64
	lastF        float64
	haveLast     bool
}

// gradChunks fixes how the rows are split for the parallel per-row losses, so that
// the floating-point sums (and so the fitted model) do not depend on GOMAXPROCS.
const gradChunks = 8

// serialRowLoss is the number of scores (rows × classes) below which the chunks
// of per-row losses run one after another.
const serialRowLoss = 1 << 14

func newLinearObjective(X []float64, y []int32, dim, classes int, c float64) *linearObjective {
	n := len(y)
	o := &linearObjective{n: n, dim: dim, classes: classes, y: y, lambda: 1 / (c * float64(n)),
		X: X, Xt: make([]float64, n*dim), Z: make([]float64, n*classes), Zt: make([]float64, n*classes)}
	for i := 0; i < n; i++ {
		for j, v := range X[i*dim : (i+1)*dim] {
			o.Xt[j*n+i] = v
		}
	}
	np := classes*dim + classes
	o.lastX, o.lastG = make([]float64, np), make([]float64, np)
	return o
}

// eval computes the objective and its gradient at theta (W row-major, then b),
// or returns them from the previous call at the same point.
func (o *linearObjective) eval(theta []float64) {
	if o.haveLast && equal(theta, o.lastX) {
		return
	}
	n, d, k := o.n, o.dim, o.classes
	B := theta[k*d:]
	if d > 0 {
		dotk.MulABt(1, o.X, d, theta[:k*d], d, o.Z, k, n, k, d)
	} else {
		clear(o.Z)
	}
	chunk := func(c int) {
		if len(o.scratch[c]) < o.scratchLen {
			o.scratch[c] = make([]float64, o.scratchLen)
		}
		f := 0.0
		for i := n * c / gradChunks; i < n*(c+1)/gradChunks; i++ {
			z := o.Z[i*k : (i+1)*k]
			for j := range z {
				z[j] += B[j]
			}
			f += o.rowLoss(z, o.y[i], o.scratch[c])
			// ∂ℓ/∂z into its column of Zt, for the gradient's product (here,
			// in parallel, rather than in a pass of its own afterwards)
			for j, v := range z {
				o.Zt[j*n+i] = v
			}
		}
		o.partF[c] = f
	}
	// The chunks run in parallel unless they are too small to pay for the
	// goroutines: the same chunks either way, so the same sums.
	if n*k < serialRowLoss {
		for c := 0; c < gradChunks; c++ {
			chunk(c)
		}
	} else {
		var wg sync.WaitGroup
		for c := 0; c < gradChunks; c++ {
			wg.Go(func() { chunk(c) })
		}
		wg.Wait()
	}
	f := 0.0
	for _, v := range o.partF {
		f += v
	}
	inv := 1 / float64(n)
	if n > 0 {
		dotk.MulABt(inv, o.Zt, n, o.Xt, n, o.lastG[:k*d], d, k, d, n)
	} else {
		clear(o.lastG[:k*d])
	}
	reg := 0.0
	for j, w := range theta[:k*d] {
		reg += w * w
		o.lastG[j] += o.lambda * w
	}
	gradB := o.lastG[k*d:]
	for j := range gradB {
		s := 0.0
		for _, v := range o.Zt[j*n : (j+1)*n] {
			s += v
		}
		gradB[j] = s * inv
	}
	o.lastF = f*inv + 0.5*o.lambda*reg
	copy(o.lastX, theta)
	o.haveLast = true
}

// softmaxLoss is the multinomial cross-entropy: ℓ = logΣexp(z) − z_y, ∂ℓ/∂z =
// softmax(z) − onehot(y).
func softmaxLoss(z []float64, y int32, _ []float64) float64 {
	mx := z[0]
	for _, v := range z[1:] {
		// Not the max builtin, whose NaN and ±0 rules took a quarter of the
		// function; a NaN score still makes the loss NaN, through the sum.
		if v > mx {
			mx = v
		}
	}
	l := mx - z[y]
	s := 0.0
	for j, v := range z {
		z[j] = expFast(v - mx)
		s += z[j]
	}
	l += math.Log(s)
	for j := range z {
		z[j] /= s
	}
	z[y]--
	return l
}

// Stopping rule of every fit, scikit-learn's lbfgs solver's (scipy's L-BFGS-B
// with its defaults): stop when the largest gradient component is at most tol
// (scikit-learn's tol, default 1e-4, on its summed loss: tol/n on a mean), or when an iteration lowers the objective by
// less than factr·ε relative to it (scipy's ftol, 2.2e-9), or after maxIter
// iterations. L-BFGS keeps scipy's 10 correction pairs and uses the Moré–Thuente
// line search, as scipy does.
const (
	defaultTol = 1e-4
	relFtol    = 1e7 * 0x1p-52
	lbfgsStore = 10
)

// minimize runs L-BFGS on o from x0 and returns the best point found and the
// number of iterations.
func (o *linearObjective) minimize(ctx context.Context, x0 []float64, tol float64, maxIter int) ([]float64, int, error) {
	return minimize(ctx, func(x []float64) float64 { o.eval(x); return o.lastF },
		func(g, x []float64) { o.eval(x); copy(g, o.lastG) }, x0, tol, maxIter)
}

func minimize(ctx context.Context, f func([]float64) float64, grad func(g, x []float64), x0 []float64, tol float64, maxIter int) ([]float64, int, error) {
	problem := optimize.Problem{Func: f, Grad: grad, Status: stopOnCancel(ctx)}
	res, err := optimize.Minimize(problem, x0, &optimize.Settings{
		GradientThreshold: tol,
		Converger:         &optimize.FunctionConverge{Relative: relFtol, Absolute: relFtol, Iterations: 1},
		MajorIterations:   maxIter,
	}, &optimize.LBFGS{Store: lbfgsStore, Linesearcher: &optimize.MoreThuente{}})
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, 0, ctxErr
	}
	if res == nil {
		return nil, 0, fmt.Errorf("fusion: L-BFGS: %v", err)
	}
	// A line search that cannot improve further at a tiny gradient is convergence
	// in all but name; res.X is the best point found either way.
	return res.X, res.Stats.MajorIterations, nil
}
