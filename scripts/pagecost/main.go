// Command pagecost times first touches of fresh anonymous memory: it maps SIZE
// MiB, advises huge pages (or, with -small, advises against them), writes one
// byte every 4 KiB and prints the milliseconds per MiB. Run right after DuckDB
// and again right after itself, it shows what the bench's lakefuse runs pay for
// the memory they touch first, and why (docs/decisions.md, "The 2M run after
// DuckDB"):
//
//	node .tools/duckdb/run.mjs … && go run ./scripts/pagecost 256 && go run ./scripts/pagecost 256
//	go run ./scripts/pagecost -small 256
//
// Linux only (madvise).
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

const hugePage = 2 << 20

func main() {
	small := flag.Bool("small", false, "advise against huge pages (MADV_NOHUGEPAGE) instead of for them")
	flag.Parse()
	mb, err := strconv.Atoi(flag.Arg(0))
	if err != nil || mb <= 0 {
		fmt.Fprintln(os.Stderr, "usage: pagecost [-small] SIZE_MIB")
		os.Exit(2)
	}
	n := mb << 20
	b, err := syscall.Mmap(-1, 0, n+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pagecost:", err)
		os.Exit(1)
	}
	off := (hugePage - int(uintptr(unsafe.Pointer(&b[0])))%hugePage) % hugePage
	b = b[off : off+n]
	advice := syscall.MADV_HUGEPAGE
	if *small {
		advice = syscall.MADV_NOHUGEPAGE
	}
	if err := syscall.Madvise(b, advice); err != nil {
		fmt.Fprintln(os.Stderr, "pagecost: madvise:", err)
	}
	start := time.Now()
	for i := 0; i < n; i += 4096 {
		b[i] = 1
	}
	d := time.Since(start)
	fmt.Printf("%d MiB, huge pages %v: %.1f ms, %.2f ms/MiB\n", mb, !*small, d.Seconds()*1000, d.Seconds()*1000/float64(mb))
}
