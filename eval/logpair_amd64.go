package eval

// logPairAsm is math.Log of two positive finite numbers (logpair_amd64.s).
//
//go:noescape
func logPairAsm(a, b float64) (la, lb float64)
