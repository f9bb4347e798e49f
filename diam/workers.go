package diam

import "time"

// workerIdle is how long a handler goroutine waits for the next request
// before it exits.
const workerIdle = 10 * time.Second

// handlerWorkers runs request handlers on reused goroutines. A handler's
// stack grows to tens of KB (decoding, the procedure, the store, the core
// round trip); a fresh goroutine per request starts small and grows it by
// copying every time (runtime.copystack/newstack were 5 % of the daemon's
// CPU at make bench's maximum). A worker that finishes waits workerIdle for
// the next handler, then exits, so an idle daemon holds no extra
// goroutines. There is no bound here: every caller holds its own slot
// (the per-connection in-flight semaphore) before it submits.
var handlerWorkers = workerPool{work: make(chan func())}

type workerPool struct {
	work chan func() // unbuffered: a send succeeds only if a worker is idle
}

// Go runs f on an idle worker, or on a new one.
func (p *workerPool) Go(f func()) {
	select {
	case p.work <- f:
	default:
		go p.run(f)
	}
}

func (p *workerPool) run(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		f = nil // let f's captures go while waiting
		idle.Reset(workerIdle)
		select {
		case f = <-p.work:
		case <-idle.C:
			return
		}
	}
}
