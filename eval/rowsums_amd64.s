#include "textflag.h"

// rowSums32 and rowSums64 are rowSums (classification.go) for one row of
// float32 or float64 probabilities, in SSE2 with conditional moves instead of
// branches: the same values added in the same order, so the same bits, for a
// row without NaN (the caller redoes a row whose clipped sum is NaN in Go,
// whose max and comparisons treat NaN their own way).
//
// The row is read in three runs: the classes before the label, the label's,
// the classes after it. A class's step (STEP): clipped += min(max(v, ε), 1−ε)
// (clipProb); sq += v² (v − 1 at the label); ahead += [v > p] before the label
// and [v ≥ p] after it (TopK's count, p the label's probability); best = j
// where v is above the best value so far, which becomes the larger of the two
// (Argmax's, the first on ties); with bins, bins[j] = v·2^16 clamped to
// [0, 2^16−1] and truncated (rankBin).
//
// Registers: SI row, CX its length, DX label, DI bins (R8 their length, 0 for
// none), AX the class j, BX the best class, R9 the classes ahead of the label;
// X1 p, X2 the best value, X3 the clipped sum, X4 the squared error sum; X8 ε,
// X10 1−ε, X11 2^16, X12 0, X13 2^16−1, X14 1.
#define EPS 2.220446049250313080847263336181640625e-16
#define ONEMINUSEPS 0.99999999999999977795539507496869191527366638183593750

#define START(LOAD, SHIFT) \
	MOVQ	row_base+0(FP), SI \
	MOVQ	row_len+8(FP), CX \
	MOVQ	label+24(FP), DX \
	MOVQ	bins_base+32(FP), DI \
	MOVQ	bins_len+40(FP), R8 \
	LOAD	(SI)(DX*SHIFT), X1 \
	LOAD	(SI), X2 \
	XORQ	BX, BX \
	XORQ	R9, R9 \
	XORQ	AX, AX \
	XORPS	X3, X3 \
	XORPS	X4, X4 \
	MOVSD	$EPS, X8 \
	MOVSD	$ONEMINUSEPS, X10 \
	MOVSD	$65536.0, X11 \
	XORPS	X12, X12 \
	MOVSD	$65535.0, X13 \
	MOVSD	$1.0, X14

// STEP is class AX's step, its value in X0; SQ makes X6 its squared error
// from X6 = v, AHEAD sets R10's low byte from the comparison of v with p.
#define STEP(LOAD, SHIFT, SQ, AHEAD) \
	LOAD	(SI)(AX*SHIFT), X0 \
	MOVSD	X8, X5 \
	MAXSD	X0, X5 \
	MOVSD	X10, X6 \
	MINSD	X5, X6 \
	ADDSD	X6, X3 \
	MOVSD	X0, X6 \
	SQ \
	MULSD	X6, X6 \
	ADDSD	X6, X4 \
	UCOMISD	X1, X0 \
	AHEAD	R10 \
	MOVBQZX	R10, R10 \
	ADDQ	R10, R9 \
	UCOMISD	X2, X0 \
	CMOVQHI	AX, BX \
	MAXSD	X0, X2

// BIN stores class AX's rank bin from X0.
#define BIN \
	MOVSD	X0, X5 \
	MULSD	X11, X5 \
	MAXSD	X12, X5 \
	MINSD	X13, X5 \
	CVTTSD2SL	X5, R10 \
	MOVW	R10, (DI)(AX*2)

#define NOSQ
#define LABELSQ SUBSD X14, X6

#define DONE \
	MOVSD	X3, clipped+56(FP) \
	MOVSD	X4, sq+64(FP) \
	MOVQ	R9, ahead+72(FP) \
	MOVQ	BX, best+80(FP) \
	RET

// ROWSUMS is a whole function body. Without bins: before the label, the
// label, after it; with bins the same with BIN in each step.
#define ROWSUMS(LOAD, SHIFT) \
	START(LOAD, SHIFT) \
	TESTQ	R8, R8 \
	JNZ	binned \
before: \
	CMPQ	AX, DX \
	JGE	label \
	STEP(LOAD, SHIFT, NOSQ, SETHI) \
	INCQ	AX \
	JMP	before \
label: \
	STEP(LOAD, SHIFT, LABELSQ, SETHI) \
	INCQ	AX \
after: \
	CMPQ	AX, CX \
	JGE	done \
	STEP(LOAD, SHIFT, NOSQ, SETCC) \
	INCQ	AX \
	JMP	after \
binned: \
	CMPQ	AX, DX \
	JGE	binnedlabel \
	STEP(LOAD, SHIFT, NOSQ, SETHI) \
	BIN \
	INCQ	AX \
	JMP	binned \
binnedlabel: \
	STEP(LOAD, SHIFT, LABELSQ, SETHI) \
	BIN \
	INCQ	AX \
binnedafter: \
	CMPQ	AX, CX \
	JGE	done \
	STEP(LOAD, SHIFT, NOSQ, SETCC) \
	BIN \
	INCQ	AX \
	JMP	binnedafter \
done: \
	DONE

// func rowSums32(row []float32, label int, bins []uint16) (clipped, sq float64, ahead, best int)
TEXT ·rowSums32(SB), NOSPLIT, $0-88
	ROWSUMS(CVTSS2SD, 4)

// func rowSums64(row []float64, label int, bins []uint16) (clipped, sq float64, ahead, best int)
TEXT ·rowSums64(SB), NOSPLIT, $0-88
	ROWSUMS(MOVSD, 8)
