package eval

import "testing"

// BenchmarkTermsOf is the evaluation pass's per-row arithmetic on ten classes:
// one classifier's terms of a row (termsOf), without the accumulators.
//
//	go test ./eval -run '^$' -bench TermsOf -count 5
func BenchmarkTermsOf(b *testing.B) {
	const k, n = 10, 1 << 14
	probs, labels := benchRows(k, n)
	var sink float64
	b.ResetTimer()
	for range b.N {
		for i, y := range labels {
			t := termsOf(probs[i*k:(i+1)*k], y, nil)
			sink += t.logLoss + t.brier + float64(t.pred+t.ahead)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
	if sink == 0 {
		b.Fatal("no terms")
	}
}
