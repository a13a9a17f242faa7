package main

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user plus system) a process has used so far.
//
// The table prints it per call for client and server apart, because a
// transport can buy latency with CPU (busy polling, a writer that yields
// before it flushes): the cost belongs next to the gain.
type cpuTime func() (time.Duration, error)

// selfCPU is this process's CPU time, from getrusage (microseconds; /proc's
// 10 ms ticks are too coarse for the idle row). The server process answers
// the client's "cpu" request with its own.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
