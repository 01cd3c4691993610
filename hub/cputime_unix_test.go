//go:build unix

package hub_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) this process has used: on a
// shared machine it moves far less than the wall clock with other jobs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
