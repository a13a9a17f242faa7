package lymph

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Serve runs the container as a service's main runs it: it starts the
// container (Start, with ctx), serves until ctx ends or the process gets
// SIGINT or SIGTERM, then stops it gracefully (Stop, with a context that
// ends stopTimeout later and keeps ctx's values). It returns Start's error,
// or Stop's (nil after a clean stop, however it was asked for), so that
//
//	if err := c.Serve(ctx, 10*time.Second); err != nil {
//		log.Fatal(err)
//	}
//
// is a whole main's life. The signals are caught from before Start until
// the stop begins; a second one during the stop gets Go's default
// behaviour (the process ends at once), as an impatient operator expects.
// stopTimeout bounds the stop grace (WithStopGrace) and the drain of
// requests in flight together; it must be positive (an error otherwise,
// and nothing starts), since a stop with no time at all could not even
// unregister. Serve on a container already started fails as Start does. A
// Stop called elsewhere meanwhile ends Serve too, with nil once the
// container has stopped (that Stop returns its error).
func (c *Container) Serve(ctx context.Context, stopTimeout time.Duration) error {
	if stopTimeout <= 0 {
		return fmt.Errorf("lymph: serve: the stop timeout must be positive, got %v", stopTimeout)
	}
	// Before Start: a SIGTERM that arrives while starting stops the
	// container once it started, instead of killing the process
	// mid-registration.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := c.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		c.logger.Info("stopping: the context ended", "cause", context.Cause(ctx))
	case s := <-sigs:
		c.logger.Info("stopping on a signal", "signal", s.String())
	case <-c.stopped: // Stop was called elsewhere, and reports its own error
		return nil
	}
	signal.Stop(sigs)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	return c.Stop(stopCtx)
}
