package diam

import (
	"sync"
	"sync/atomic"
)

// Stats counts what the transport refused or noticed. The metrics package
// (issue 6) exports them; tests read them to assert that a refusal happened
// for the reason expected.
type Stats struct {
	Accepted          atomic.Uint64 // TCP connections accepted
	RefusedConnLimit  atomic.Uint64 // over the total or per-IP connection cap
	RefusedHandshakes atomic.Uint64 // TLS handshake failed or timed out
	RefusedCER        atomic.Uint64 // CEA other than 2001 sent
	RefusedBeforeCER  atomic.Uint64 // a message other than CER arrived first
	SpoofedOrigin     atomic.Uint64 // request whose Origin-Host the peer may not use
	BadFrames         atomic.Uint64 // refused by the frame guard
	ProtocolErrors    atomic.Uint64 // answered 3001/3007/5001/5004/5005/...
	TooBusy           atomic.Uint64 // answered 3004
	Duplicates        atomic.Uint64 // answered from the duplicate cache
	WatchdogFailures  atomic.Uint64 // peers dropped for not answering DWR
	Panics            atomic.Uint64 // contained panics (should stay 0)

	frameMu    sync.Mutex
	frameCodes map[uint32]uint64 // BadFrames by the result code refused with
}

// frameRefused counts a frame the guard refused, by its result code.
func (s *Stats) frameRefused(code uint32) {
	s.BadFrames.Add(1)
	s.frameMu.Lock()
	if s.frameCodes == nil {
		s.frameCodes = make(map[uint32]uint64)
	}
	s.frameCodes[code]++
	s.frameMu.Unlock()
}

// FrameRefusals returns BadFrames by result code (a copy).
func (s *Stats) FrameRefusals() map[uint32]uint64 {
	s.frameMu.Lock()
	defer s.frameMu.Unlock()
	out := make(map[uint32]uint64, len(s.frameCodes))
	for k, v := range s.frameCodes {
		out[k] = v
	}
	return out
}
