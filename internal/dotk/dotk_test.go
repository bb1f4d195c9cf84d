package dotk

import (
	"math"
	"math/rand/v2"
	"testing"
)

func random(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		// Wide exponents, so that rounding shows; exact operations only, so that
		// the inputs are the same bits on every machine.
		v[i] = math.Ldexp(2*rng.Float64()-1, rng.IntN(24)-12)
	}
	return v
}

// recipe is the package comment's recipe, written out for one element.
func recipe(x, y []float64) float64 {
	var s [4]float64
	k4 := len(x) &^ 3
	for j := 0; j < k4; j++ {
		s[j%4] += float64(x[j] * y[j])
	}
	r := (s[0] + s[2]) + (s[1] + s[3])
	for j := k4; j < len(x); j++ {
		r += float64(x[j] * y[j])
	}
	return r
}

// Every element of MulABt is the recipe's, bit for bit, on the kernel this
// machine uses and on the Go kernel, for shapes that do and do not fill the 4×2
// blocks, with strides wider than the rows.
func TestMulABtIsTheRecipe(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kernels := map[string]func([4][]float64, [2][]float64, int, *[8]float64){"machine": kernel, "go": kernel4x2Go}
	for _, sh := range [][3]int{{1, 1, 1}, {4, 2, 4}, {5, 3, 7}, {9, 130, 33}, {100, 70, 256}, {3, 1, 0}, {70, 9, 1921}} {
		m, n, k := sh[0], sh[1], sh[2]
		lda, ldb, ldc := k+3, k+1, n+2
		a, b := random(rng, m*lda), random(rng, n*ldb)
		for name, kern := range kernels {
			kernel = kern
			c := make([]float64, m*ldc)
			MulABt(0.5, a, lda, b, ldb, c, ldc, m, n, k)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					want := 0.5 * recipe(a[i*lda:i*lda+k], b[j*ldb:j*ldb+k])
					if got := c[i*ldc+j]; math.Float64bits(got) != math.Float64bits(want) {
						t.Fatalf("%s kernel, %dx%dx%d: C[%d,%d] = %v, the recipe gives %v", name, m, n, k, i, j, got, want)
					}
				}
				for j := n; j < ldc; j++ {
					if c[i*ldc+j] != 0 {
						t.Fatalf("%s kernel: wrote past column %d", name, n)
					}
				}
			}
		}
	}
	kernel = kernels["machine"]
}

// A fixed input gives fixed bits on every machine: the recipe does not depend on
// the CPU (this sum is what amd64 with and without AVX2, and arm64, compute).
func TestMulABtFixedBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const m, n, k = 13, 11, 37
	a, b := random(rng, m*k), random(rng, n*k)
	c := make([]float64, m*n)
	MulABt(1, a, k, b, k, c, n, m, n, k)
	var h uint64
	for _, v := range c {
		h = h*1099511628211 ^ math.Float64bits(v)
	}
	if h != fixedBits {
		t.Errorf("checksum %#x, want %#x", h, fixedBits)
	}
}

const fixedBits = 0x72c15567872b59d7

func BenchmarkMulABt(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range [][3]int{{1920, 100, 256}, {100, 256, 1920}, {1600, 10, 649}, {10, 649, 1600}} {
		m, n, k := sh[0], sh[1], sh[2]
		x, y, c := random(rng, m*k), random(rng, n*k), make([]float64, m*n)
		b.Run("", func(b *testing.B) {
			for range b.N {
				MulABt(1, x, k, y, k, c, n, m, n, k)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
