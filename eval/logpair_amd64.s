#include "textflag.h"

// func logPairAsm(a, b float64) (la, lb float64)
//
// math.Log of two positive finite numbers at once: math.Log's amd64 assembly
// (src/math/log_amd64.s) step for step, each scalar instruction its packed
// twin on the pair, so each lane takes the same IEEE operations in the same
// order and gives the same bits. The special cases (zero, negative, infinite,
// NaN) are the caller's (logPair).
TEXT ·logPairAsm(SB), NOSPLIT, $0-32
	MOVSD   a+0(FP), X0
	MOVHPD  b+8(FP), X0
	// f1, ki := math.Frexp(x); k := float64(ki)
	MOVUPD  logMant<>(SB), X2
	ANDPD   X0, X2
	MOVUPD  logHalf<>(SB), X7
	ORPD    X7, X2            // X2 = f1
	MOVAPD  X0, X1
	PSRLQ   $52, X1
	MOVUPD  logExpMask<>(SB), X7
	PAND    X7, X1
	MOVUPD  logBias<>(SB), X7
	PSUBQ   X7, X1
	PSHUFD  $0x08, X1, X1     // the two exponents to the low doublewords
	CVTPL2PD X1, X1           // X1 = k
	// if f1 < math.Sqrt2/2 { k -= 1; f1 *= 2 }, as archLog compares
	MOVUPD  logHSqrt2<>(SB), X0
	CMPPD   X2, X0, 5         // X0 = ^0 where !(Sqrt2/2 < f1)
	MOVUPD  logOne<>(SB), X3
	ANDPD   X0, X3            // 0 or 1
	SUBPD   X3, X1
	MOVUPD  logOne<>(SB), X0
	ADDPD   X0, X3            // 1 or 2
	MULPD   X3, X2
	// f := f1 - 1
	SUBPD   X0, X2            // X2 = f
	// s := f / (2 + f)
	MOVUPD  logTwo<>(SB), X0
	ADDPD   X2, X0
	MOVAPD  X2, X3
	DIVPD   X0, X3            // X3 = s
	// s2 := s * s; s4 := s2 * s2
	MOVAPD  X3, X4
	MULPD   X4, X4            // X4 = s2
	MOVAPD  X4, X5
	MULPD   X5, X5            // X5 = s4
	// t1 := s2 * (L1 + s4*(L3+s4*(L5+s4*L7)))
	MOVUPD  logL7<>(SB), X6
	MULPD   X5, X6
	MOVUPD  logL5<>(SB), X7
	ADDPD   X7, X6
	MULPD   X5, X6
	MOVUPD  logL3<>(SB), X7
	ADDPD   X7, X6
	MULPD   X5, X6
	MOVUPD  logL1<>(SB), X7
	ADDPD   X7, X6
	MULPD   X6, X4            // X4 = t1
	// t2 := s4 * (L2 + s4*(L4+s4*L6))
	MOVUPD  logL6<>(SB), X6
	MULPD   X5, X6
	MOVUPD  logL4<>(SB), X7
	ADDPD   X7, X6
	MULPD   X5, X6
	MOVUPD  logL2<>(SB), X7
	ADDPD   X7, X6
	MULPD   X6, X5            // X5 = t2
	// R := t1 + t2
	ADDPD   X5, X4            // X4 = R
	// hfsq := 0.5 * f * f
	MOVUPD  logHalf<>(SB), X0
	MULPD   X2, X0
	MULPD   X2, X0            // X0 = hfsq
	// k*Ln2Hi - ((hfsq - (s*(hfsq+R) + k*Ln2Lo)) - f)
	ADDPD   X0, X4
	MULPD   X4, X3            // s*(hfsq+R)
	MOVUPD  logLn2Lo<>(SB), X4
	MULPD   X1, X4            // k*Ln2Lo
	ADDPD   X4, X3
	SUBPD   X3, X0
	SUBPD   X2, X0
	MOVUPD  logLn2Hi<>(SB), X4
	MULPD   X4, X1            // k*Ln2Hi
	SUBPD   X0, X1
	MOVLPD  X1, la+16(FP)
	MOVHPD  X1, lb+24(FP)
	RET

// Each constant twice, one a lane.
DATA logMant<>+0(SB)/8, $0x000FFFFFFFFFFFFF
DATA logMant<>+8(SB)/8, $0x000FFFFFFFFFFFFF
GLOBL logMant<>(SB), RODATA|NOPTR, $16
DATA logExpMask<>+0(SB)/8, $0x7FF
DATA logExpMask<>+8(SB)/8, $0x7FF
GLOBL logExpMask<>(SB), RODATA|NOPTR, $16
DATA logBias<>+0(SB)/8, $0x3FE
DATA logBias<>+8(SB)/8, $0x3FE
GLOBL logBias<>(SB), RODATA|NOPTR, $16
DATA logHalf<>+0(SB)/8, $0.5
DATA logHalf<>+8(SB)/8, $0.5
GLOBL logHalf<>(SB), RODATA|NOPTR, $16
DATA logOne<>+0(SB)/8, $1.0
DATA logOne<>+8(SB)/8, $1.0
GLOBL logOne<>(SB), RODATA|NOPTR, $16
DATA logTwo<>+0(SB)/8, $2.0
DATA logTwo<>+8(SB)/8, $2.0
GLOBL logTwo<>(SB), RODATA|NOPTR, $16
DATA logHSqrt2<>+0(SB)/8, $7.07106781186547524401e-01
DATA logHSqrt2<>+8(SB)/8, $7.07106781186547524401e-01
GLOBL logHSqrt2<>(SB), RODATA|NOPTR, $16
DATA logLn2Hi<>+0(SB)/8, $6.93147180369123816490e-01
DATA logLn2Hi<>+8(SB)/8, $6.93147180369123816490e-01
GLOBL logLn2Hi<>(SB), RODATA|NOPTR, $16
DATA logLn2Lo<>+0(SB)/8, $1.90821492927058770002e-10
DATA logLn2Lo<>+8(SB)/8, $1.90821492927058770002e-10
GLOBL logLn2Lo<>(SB), RODATA|NOPTR, $16
DATA logL1<>+0(SB)/8, $6.666666666666735130e-01
DATA logL1<>+8(SB)/8, $6.666666666666735130e-01
GLOBL logL1<>(SB), RODATA|NOPTR, $16
DATA logL2<>+0(SB)/8, $3.999999999940941908e-01
DATA logL2<>+8(SB)/8, $3.999999999940941908e-01
GLOBL logL2<>(SB), RODATA|NOPTR, $16
DATA logL3<>+0(SB)/8, $2.857142874366239149e-01
DATA logL3<>+8(SB)/8, $2.857142874366239149e-01
GLOBL logL3<>(SB), RODATA|NOPTR, $16
DATA logL4<>+0(SB)/8, $2.222219843214978396e-01
DATA logL4<>+8(SB)/8, $2.222219843214978396e-01
GLOBL logL4<>(SB), RODATA|NOPTR, $16
DATA logL5<>+0(SB)/8, $1.818357216161805012e-01
DATA logL5<>+8(SB)/8, $1.818357216161805012e-01
GLOBL logL5<>(SB), RODATA|NOPTR, $16
DATA logL6<>+0(SB)/8, $1.531383769920937332e-01
DATA logL6<>+8(SB)/8, $1.531383769920937332e-01
GLOBL logL6<>(SB), RODATA|NOPTR, $16
DATA logL7<>+0(SB)/8, $1.479819860511658591e-01
DATA logL7<>+8(SB)/8, $1.479819860511658591e-01
GLOBL logL7<>(SB), RODATA|NOPTR, $16
