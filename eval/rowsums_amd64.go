//go:build amd64

package eval

// rowSums32 is rowSums for a float32 row, in assembly (rowsums_amd64.s).
//
//go:noescape
func rowSums32(row []float32, label int, bins []uint16) (clipped, sq float64, ahead, best int)

// rowSums64 is rowSums for a float64 row, in assembly (rowsums_amd64.s).
//
//go:noescape
func rowSums64(row []float64, label int, bins []uint16) (clipped, sq float64, ahead, best int)
