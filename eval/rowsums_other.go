//go:build !amd64

package eval

func rowSums32(row []float32, label int, bins []uint16) (clipped, sq float64, ahead, best int) {
	return rowSums(row, label, bins)
}

func rowSums64(row []float64, label int, bins []uint16) (clipped, sq float64, ahead, best int) {
	return rowSums(row, label, bins)
}
