// Package sim is a Diameter core simulator for MTC-IWF test rigs: an HSS on
// S6m (TS 29.336, application 16777310) and an SMS-SC on T4 (TS 29.337,
// application 16777311) in one process, driven by a subscriber file.
//
// Both are real Diameter servers built on package diam: they listen, the
// MTC-IWF under test dials them (plain TCP by default, as the core side sits
// inside the operator domain, TS 33.210; mutual TLS when certificates are
// configured), and they answer with the typed messages of diam/s6m and
// diam/t4. The SMS-SC remembers every accepted trigger and, after a
// configurable delay, reports its delivery with a DRR on the connection the
// DTR came in on, retrying with bounded backoff (and on a reconnected
// connection of the same MTC-IWF) until a DRA arrives.
//
// Failures are injected per request (Inject, or POST /inject on the control
// endpoint) and everything that happened is counted (Counters, GET
// /counters), so an end-to-end test can say "the HSS answered 5510 once" or
// "no SIR was sent".
//
// The daemon must not import this package (DESIGN.md); its tests may:
//
//	s, err := sim.New(sim.Config{Subscribers: subs})
//	hss, smsc, err := s.Start(ctx)
//	defer s.Close()
package sim
