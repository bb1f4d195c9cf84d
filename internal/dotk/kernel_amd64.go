package dotk

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX2 {
		kernel = kernel4x2AVX2
	}
}

//go:noescape
func dot4x2AVX2(a0, a1, a2, a3, b0, b1 *float64, n int, out *[8]float64)

func kernel4x2AVX2(a [4][]float64, b [2][]float64, n int, out *[8]float64) {
	if n == 0 {
		*out = [8]float64{}
		return
	}
	dot4x2AVX2(&a[0][0], &a[1][0], &a[2][0], &a[3][0], &b[0][0], &b[1][0], n, out)
}
