//go:build !amd64

package eval

import "math"

func logPairAsm(a, b float64) (la, lb float64) { return math.Log(a), math.Log(b) }
