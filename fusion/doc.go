// Package fusion owns the aligned Frame, the models (multinomial logistic
// regression) and the fusion strategies that combine modalities, together with the
// JSON model artifacts that let a fitted strategy score new data.
//
// fusion does no I/O: it sees a Frame built by the jobs package and returns class
// probabilities. Strategies are registered by name (see Register) and built with New.
package fusion
