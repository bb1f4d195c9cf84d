// Package dotk computes the matrix product C = α·A·Bᵀ (rows of A dotted with rows
// of B) with one fixed floating-point recipe per element, so that the result is
// bit-identical on every machine, whichever code path runs:
//
//	dot(a, b): four lanes s_l accumulate a[j]·b[j] for j ≡ l (mod 4), each product
//	rounded before it is added, over the first K&^3 elements; then
//	r = (s_0 + s_2) + (s_1 + s_3); then the last K mod 4 products are added to r
//	in order; C = α·r.
//
// On amd64 with AVX2 an assembly kernel computes a 4×2 block of C per call with
// that recipe (multiply, then add: no fused multiply-add, whose single rounding
// would differ); elsewhere Go code computes the same. lakefuse's fits run on it,
// so their matrix products do not depend on the instance type a shard lands on.
package dotk
