//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package registry

import "os"

// localSupported is false here: no flock(2), on which the local registry's
// liveness rests. Use memory: or zookeeper: on this system.
const localSupported = false

func lockFile(*os.File) error                  { return errNoFlock }
func tryLockFile(*os.File, bool) (bool, error) { return false, errNoFlock }
func checkPrivateDir(string) error             { return errNoFlock }
