// Package eval owns metrics. Every metric is an accumulator with Add, Merge and
// Result, so buckets, workers and shards each accumulate their rows and combine in
// any order. Conventions follow scikit-learn (checked against golden files computed
// by scikit-learn 1.2): the predicted class is the argmax with ties to the lowest
// class index, and precision/recall/F1 use zero_division = 0 over all classes.
//
// eval does no I/O beyond writing reports to an io.Writer.
package eval
