package diam

import (
	"sync"
	"testing"
	"time"
)

// TestWorkerPoolNeverQueuesBehindABusyWorker: a handler blocked in a core
// round trip must not delay the next one; every submitted function runs.
func TestWorkerPoolNeverQueuesBehindABusyWorker(t *testing.T) {
	p := workerPool{work: make(chan func())}
	release := make(chan struct{})
	blocked := make(chan struct{})
	p.Go(func() { close(blocked); <-release })
	<-blocked
	const n = 200
	var wg sync.WaitGroup
	wg.Add(n)
	for range n {
		p.Go(wg.Done)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("functions queued behind a blocked worker")
	}
	close(release)
	// Idle workers take later work (sequential submissions after each
	// finishes reuse them): still every function runs.
	for i := range 50 {
		ran := make(chan int, 1)
		p.Go(func() { ran <- i })
		select {
		case got := <-ran:
			if got != i {
				t.Fatalf("ran %d, want %d", got, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("function never ran")
		}
	}
}
