// Package dictionaries holds the go-diameter XML dictionaries of mtciwf and
// builds parsers from them.
//
// base.xml is the Diameter base protocol (RFC 6733) plus every AVP that more
// than one interface carries; tsp.xml, s6m.xml and t4.xml hold one
// application each. The shared AVPs live in application 0 because go-diameter
// looks an AVP up in the message's application and then in application 0,
// and because a grouped AVP's rules can only name AVPs of its own application
// or of application 0.
//
// Every constructor returns a new parser holding base.xml and at most one
// interface. One parser per interface is deliberate: go-diameter's CER/CEA
// state machine advertises every application its parser holds, so a parser
// with Tsp, S6m and T4 would offer the HSS and SMS-SC interfaces to an SCS.
// Parsers are built fresh on every call, so callers never share one by
// accident; a parser must be fully loaded before it is used concurrently
// (go-diameter does not lock its lookups).
package dictionaries

import (
	"embed"
	"fmt"

	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// Identifiers the dictionaries use (reference 3gpp-mtc.md section 0.1).
const (
	// VendorID3GPP is the 3GPP Vendor-Id (10415).
	VendorID3GPP = 10415
	// AppTsp is the Tsp application (TS 29.368).
	AppTsp = 16777309
	// AppS6m is the S6m/S6n application (TS 29.336).
	AppS6m = 16777310
	// AppT4 is the T4 application (TS 29.337).
	AppT4 = 16777311
	// AppRelay is the relay application id (RFC 6733 2.4); go-diameter
	// counts it as common with any peer in the capabilities exchange.
	AppRelay = 0xffffffff
)

//go:embed *.xml
var files embed.FS

// Base returns a new parser holding only base.xml: the RFC 6733 base
// commands (CER/CEA, DWR/DWA, DPR/DPA) and the shared AVPs. Its CEA
// advertises no application.
func Base() (*dict.Parser, error) { return load("base.xml") }

// Tsp returns a new parser holding base.xml and tsp.xml (application
// 16777309).
func Tsp() (*dict.Parser, error) { return load("base.xml", "tsp.xml") }

// S6m returns a new parser holding base.xml and s6m.xml (application
// 16777310).
func S6m() (*dict.Parser, error) { return load("base.xml", "s6m.xml") }

// T4 returns a new parser holding base.xml and t4.xml (application 16777311).
func T4() (*dict.Parser, error) { return load("base.xml", "t4.xml") }

func load(names ...string) (*dict.Parser, error) {
	p, err := dict.NewParser()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		f, err := files.Open(name)
		if err != nil {
			return nil, fmt.Errorf("dictionaries: %w", err)
		}
		err = p.Load(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("dictionaries: loading %s: %w", name, err)
		}
	}
	return p, nil
}
