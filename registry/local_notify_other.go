//go:build !linux

package registry

// dirNotifier is not available here: local watches poll only.
type dirNotifier struct{}

func notifyDir(string) *dirNotifier { return nil }

func (n *dirNotifier) C() <-chan struct{} { return nil }

func (n *dirNotifier) Close() {}

const notifySupported = false
