//go:build !linux

package bigmem

import "unsafe"

func adviseHuge(unsafe.Pointer, uintptr) {}
