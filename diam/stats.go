package diam

import "sync/atomic"

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
}
