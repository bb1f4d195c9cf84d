#include "textflag.h"

// func normaliseProbs32(row []float32, tol float64) (sum float64, ok bool)
//
// normaliseProbs32 is NormaliseProbs32 (unimodal.go) two values at a time in
// SSE2: the sum is the values widened and added in order, each value checked
// 0 <= v <= MaxFloat64 (ordered: NaN fails), and, if every value passed and
// |sum − 1| <= tol, each value becomes float32((0 + v) / sum) — per lane the
// scalar operations, so the same bits.
//
// Registers: SI row, CX its length, AX the index, R10 the passing lanes (bit
// 0 and 1, cleared by any value that fails); X3 the sum, X5 the sum in both
// lanes, X6 0, X7 MaxFloat64 in both lanes.
TEXT ·normaliseProbs32(SB), NOSPLIT, $0-41
	MOVQ	row_base+0(FP), SI
	MOVQ	row_len+8(FP), CX
	XORPS	X3, X3
	XORPS	X6, X6
	MOVSD	$1.79769313486231570814527423731704356798070e+308, X7
	UNPCKLPD	X7, X7
	MOVL	$3, R10
	XORQ	AX, AX
pairs:
	LEAQ	2(AX), DX
	CMPQ	DX, CX
	JGT	tail
	CVTPS2PD	(SI)(AX*4), X0
	MOVAPD	X6, X4
	CMPPD	X0, X4, $2 // 0 <= v
	MOVAPD	X0, X2
	CMPPD	X7, X2, $2 // v <= MaxFloat64
	ANDPD	X2, X4
	MOVMSKPD	X4, DX
	ANDL	DX, R10
	ADDSD	X0, X3
	UNPCKHPD	X0, X0
	ADDSD	X0, X3
	ADDQ	$2, AX
	JMP	pairs
tail:
	CMPQ	AX, CX
	JGE	checked
	CVTSS2SD	(SI)(AX*4), X0
	MOVAPD	X6, X4
	CMPSD	X0, X4, $2
	MOVAPD	X0, X2
	CMPSD	X7, X2, $2
	ANDPD	X2, X4
	MOVMSKPD	X4, DX
	ORL	$2, DX
	ANDL	DX, R10
	ADDSD	X0, X3
checked:
	MOVSD	X3, sum+32(FP)
	MOVB	$0, ok+40(FP)
	CMPL	R10, $3
	JNE	done
	// |sum − 1| <= tol, NaN failing: 1 − tol <= sum <= 1 + tol would round
	// differently, so the difference is taken as Go takes it.
	MOVSD	$1.0, X0
	MOVAPD	X3, X1
	SUBSD	X0, X1
	MOVQ	$0x7fffffffffffffff, DX
	MOVQ	DX, X0
	ANDPD	X0, X1 // |sum − 1|
	MOVSD	tol+24(FP), X0
	UCOMISD	X0, X1
	JA	done // above tol
	JPS	done // NaN
	MOVB	$1, ok+40(FP)
	MOVAPD	X3, X5
	UNPCKLPD	X5, X5
	XORQ	AX, AX
dpairs:
	LEAQ	2(AX), DX
	CMPQ	DX, CX
	JGT	dtail
	CVTPS2PD	(SI)(AX*4), X0
	XORPS	X1, X1
	ADDPD	X0, X1 // 0 + v: −0 becomes +0
	DIVPD	X5, X1
	CVTPD2PS	X1, X1
	MOVQ	X1, (SI)(AX*4)
	ADDQ	$2, AX
	JMP	dpairs
dtail:
	CMPQ	AX, CX
	JGE	done
	CVTSS2SD	(SI)(AX*4), X0
	XORPS	X1, X1
	ADDSD	X0, X1
	DIVSD	X3, X1
	CVTSD2SS	X1, X1
	MOVSS	X1, (SI)(AX*4)
done:
	RET
