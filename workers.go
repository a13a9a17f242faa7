package lymph

import (
	"sync"
	"sync/atomic"

	"github.com/lymphgo/lymph/internal/transport"
)

// maxIdleWorkers bounds the workers kept waiting for requests after a
// burst; the ones beyond it exit when their request is done.
const maxIdleWorkers = 256

// workers runs requests on goroutines that are kept between requests,
// rather than on a new goroutine each. A new goroutine starts with a small
// stack that every request then grows again (decoding and dispatching go a
// few dozen frames deep), and that growth was a tenth of the server's time;
// a kept goroutine has its stack already. There is no limit on how many run
// at once: a request never waits for a free worker.
type workers struct {
	work    chan transport.Incoming // unbuffered: a send succeeds only if a worker waits
	idle    atomic.Int64            // workers waiting on work
	running sync.WaitGroup
	serve   func(transport.Incoming)
}

func newWorkers(serve func(transport.Incoming)) *workers {
	return &workers{work: make(chan transport.Incoming), serve: serve}
}

// run hands in to a waiting worker, or starts a new one.
func (w *workers) run(in transport.Incoming) {
	select {
	case w.work <- in:
	default:
		w.running.Add(1)
		go w.loop(in)
	}
}

func (w *workers) loop(in transport.Incoming) {
	defer w.running.Done()
	for {
		w.serve(in)
		if w.idle.Add(1) > maxIdleWorkers {
			w.idle.Add(-1)
			return
		}
		var ok bool
		in, ok = <-w.work
		w.idle.Add(-1)
		if !ok {
			return
		}
	}
}

// stop ends the waiting workers and waits for all to return. The caller
// makes sure run is not called any more.
func (w *workers) stop() {
	close(w.work)
	w.running.Wait()
}
