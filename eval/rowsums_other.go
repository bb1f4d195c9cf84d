//go:build !amd64

package eval

func rowSums32(row []float32, label int, bins []uint16, stride int) (clipped, sq float64, ahead, best int) {
	return rowSums(row, label, bins, stride)
}

func rowSums64(row []float64, label int, bins []uint16, stride int) (clipped, sq float64, ahead, best int) {
	return rowSums(row, label, bins, stride)
}
