#include "textflag.h"

// func meanRow3(a, b, d []float32, dst []float64) (s float64)
//
// meanRow3 is meanRows' row of three present blocks (late.go) two classes at a
// time in SSE2: dst[c] = ((0 + a[c]) + b[c]) + d[c] as float64, set to +0
// unless 0 < it <= MaxFloat64 (setMass), s their sum in class order, and, if s
// is not 0, each dst[c] divided by s. Every lane does what the scalar code
// does, in the same order, so the same bits; a zero s is left to the caller
// (a uniform row).
//
// Registers: SI a, R8 b, R9 d, DI dst, CX its length, AX the class; X3 s, X5
// s in both lanes, X6 0, X7 MaxFloat64 in both lanes.
TEXT ·meanRow3(SB), NOSPLIT, $0-104
	MOVQ	a_base+0(FP), SI
	MOVQ	b_base+24(FP), R8
	MOVQ	d_base+48(FP), R9
	MOVQ	dst_base+72(FP), DI
	MOVQ	dst_len+80(FP), CX
	XORPS	X3, X3
	XORPS	X6, X6
	MOVSD	$1.79769313486231570814527423731704356798070e+308, X7
	UNPCKLPD	X7, X7
	XORQ	AX, AX
pairs:
	LEAQ	2(AX), DX
	CMPQ	DX, CX
	JGT	tail
	XORPS	X1, X1
	CVTPS2PD	(SI)(AX*4), X0
	ADDPD	X0, X1
	CVTPS2PD	(R8)(AX*4), X0
	ADDPD	X0, X1
	CVTPS2PD	(R9)(AX*4), X0
	ADDPD	X0, X1
	MOVAPD	X6, X4
	CMPPD	X1, X4, $1 // 0 < x
	MOVAPD	X1, X2
	CMPPD	X7, X2, $2 // x <= MaxFloat64
	ANDPD	X2, X4
	ANDPD	X1, X4
	MOVUPD	X4, (DI)(AX*8)
	ADDSD	X4, X3
	UNPCKHPD	X4, X4
	ADDSD	X4, X3
	ADDQ	$2, AX
	JMP	pairs
tail:
	CMPQ	AX, CX
	JGE	divide
	XORPS	X1, X1
	CVTSS2SD	(SI)(AX*4), X0
	ADDSD	X0, X1
	CVTSS2SD	(R8)(AX*4), X0
	ADDSD	X0, X1
	CVTSS2SD	(R9)(AX*4), X0
	ADDSD	X0, X1
	MOVAPD	X6, X4
	CMPSD	X1, X4, $1
	MOVAPD	X1, X2
	CMPSD	X7, X2, $2
	ANDPD	X2, X4
	ANDPD	X1, X4
	MOVSD	X4, (DI)(AX*8)
	ADDSD	X4, X3
	INCQ	AX
	JMP	tail
divide:
	UCOMISD	X6, X3
	JEQ	done // 0 (or NaN, which a sum of masses is not)
	MOVAPD	X3, X5
	UNPCKLPD	X5, X5
	XORQ	AX, AX
dpairs:
	LEAQ	2(AX), DX
	CMPQ	DX, CX
	JGT	dtail
	MOVUPD	(DI)(AX*8), X0
	DIVPD	X5, X0
	MOVUPD	X0, (DI)(AX*8)
	ADDQ	$2, AX
	JMP	dpairs
dtail:
	CMPQ	AX, CX
	JGE	done
	MOVSD	(DI)(AX*8), X0
	DIVSD	X3, X0
	MOVSD	X0, (DI)(AX*8)
done:
	MOVSD	X3, s+96(FP)
	RET
