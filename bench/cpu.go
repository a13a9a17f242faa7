package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTime is the CPU time (user plus system) a process has used so far.
//
// The table prints it per call for client and server together, because a
// transport can buy latency with CPU (lymph's readers poll a busy
// connection briefly before they sleep): the cost belongs next to the gain.
type cpuTime func() (time.Duration, error)

// selfCPU is this process's CPU time, from getrusage.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// processCPU returns the CPU time of process pid, read from /proc (Linux
// only; elsewhere the CPU column stays empty).
func processCPU(pid int) cpuTime {
	return func() (time.Duration, error) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, err
		}
		// The command name, field 2, is in parentheses and may hold
		// spaces: count fields after its closing one. utime and stime
		// are fields 14 and 15.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
		}
		utime, err1 := strconv.ParseUint(f[11], 10, 64)
		stime, err2 := strconv.ParseUint(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
		}
		return time.Duration(utime+stime) * time.Second / clockTicks, nil
	}
}
