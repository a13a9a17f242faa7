//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package registry

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// localSupported reports whether this system has flock(2), which the local
// registry's liveness rests on.
const localSupported = true

// lockFile takes an exclusive lock on f, waiting for it.
func lockFile(f *os.File) error {
	return flock(f, syscall.LOCK_EX)
}

// tryLockFile takes a lock on f without waiting (exclusive or shared); it
// reports false when someone else holds a conflicting one.
func tryLockFile(f *os.File, exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	err := flock(f, how|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// checkPrivateDir refuses a directory another user owns, or one others may
// write to: in a shared /tmp someone could create our default directory
// first and read or fake our registrations.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("registry: %s is not a directory", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("registry: %s belongs to uid %d, not to us (uid %d)", dir, st.Uid, os.Getuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("registry: %s is writable by others (mode %v)", dir, fi.Mode().Perm())
	}
	return nil
}
