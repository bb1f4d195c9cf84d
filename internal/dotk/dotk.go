package dotk

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// kernel computes out[2i+j] = the four-lane partial dot (before the tail) of
// a[i] and b[j] over their first n elements (n a multiple of 4).
var kernel = kernel4x2Go

// kernel4x2Go is the kernel in Go: the recipe of the package comment.
func kernel4x2Go(a [4][]float64, b [2][]float64, n int, out *[8]float64) {
	for i := 0; i < 4; i++ {
		for j := 0; j < 2; j++ {
			var s0, s1, s2, s3 float64
			x, y := a[i][:n], b[j][:n]
			for k := 0; k+4 <= n; k += 4 {
				s0 += float64(x[k] * y[k])
				s1 += float64(x[k+1] * y[k+1])
				s2 += float64(x[k+2] * y[k+2])
				s3 += float64(x[k+3] * y[k+3])
			}
			out[2*i+j] = (s0 + s2) + (s1 + s3)
		}
	}
}

// colBlock is how many columns of C one task computes.
const colBlock = 64

// MulABt sets C = α·A·Bᵀ: A is m×k, B is n×k, C is m×n, all row-major with the
// given strides. Tasks of 4 rows × 64 columns of C run on GOMAXPROCS workers;
// each element is computed by one task with the package's recipe, so the result
// does not depend on the number of workers.
func MulABt(alpha float64, a []float64, lda int, b []float64, ldb int, c []float64, ldc int, m, n, k int) {
	if m == 0 || n == 0 {
		return
	}
	type task struct{ i, j int }
	var tasks []task
	for i := 0; i < m; i += 4 {
		for j := 0; j < n; j += colBlock {
			tasks = append(tasks, task{i, j})
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(tasks))
	if workers <= 1 || m*n*k < serialProducts {
		for _, t := range tasks {
			block(alpha, a, lda, b, ldb, c, ldc, m, n, k, t.i, t.j)
		}
		return
	}
	// Workers take the next task by an atomic counter: a channel's locks were a
	// fifth of a small fit's time.
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for t := next.Add(1) - 1; t < int64(len(tasks)); t = next.Add(1) - 1 {
				block(alpha, a, lda, b, ldb, c, ldc, m, n, k, tasks[t].i, tasks[t].j)
			}
		})
	}
	wg.Wait()
}

// serialProducts is the size of a product (m·n·k multiply-adds) below which one
// goroutine computes it: about 50 µs of work, where starting the workers and
// handing out tasks cost more than the second core saves.
const serialProducts = 1 << 17

// block computes rows i…i+3 and columns j…j+colBlock-1 of C (clipped to m×n).
// Rows and columns past the edge repeat the last one, whose results are dropped.
func block(alpha float64, a []float64, lda int, b []float64, ldb int, c []float64, ldc int, m, n, k, i, j int) {
	k4 := k &^ 3
	var rows [4][]float64
	for r := 0; r < 4; r++ {
		ri := min(i+r, m-1)
		rows[r] = a[ri*lda : ri*lda+k]
	}
	var out [8]float64
	for jj := j; jj < min(j+colBlock, n); jj += 2 {
		var cols [2][]float64
		for q := 0; q < 2; q++ {
			cj := min(jj+q, n-1)
			cols[q] = b[cj*ldb : cj*ldb+k]
		}
		kernel(rows, cols, k4, &out)
		for r := 0; r < 4 && i+r < m; r++ {
			for q := 0; q < 2 && jj+q < n; q++ {
				s := out[2*r+q]
				for t := k4; t < k; t++ {
					s += float64(rows[r][t] * cols[q][t])
				}
				c[(i+r)*ldc+jj+q] = alpha * s
			}
		}
	}
}
