package security

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/mtciwf/mtciwf/diam"
)

// PeerKind says what a configured Tsp peer is.
type PeerKind string

const (
	// PeerSCS is an SCS connected directly: its requests carry its own
	// Origin-Host.
	PeerSCS PeerKind = "scs"
	// PeerAgent is an SCS-side Diameter agent (a DRA, TS 29.368 6.3.2)
	// that relays the requests of the SCSs listed for it; those requests
	// keep the SCS's Origin-Host (RFC 6733 6.1.9: agents do not change it).
	PeerAgent PeerKind = "agent"
)

// PeerConfig is one configured peer.
type PeerConfig struct {
	OriginHost  string
	OriginRealm string
	Kind        PeerKind
	// SCSOriginHosts lists the SCS identities an agent may carry.
	SCSOriginHosts []string
}

// PeerTable admits Tsp peers at CER (DESIGN.md step 2): the CER's
// Origin-Host must be a dNSName of the verified client certificate (the TLS
// identity proves who the peer is, TS 33.210 6.2 / TS 29.368 6.3) and a
// configured peer whose Origin-Realm matches. It implements
// diam.PeerAdmitter. Immutable after NewPeerTable: safe for concurrent use.
type PeerTable struct {
	byHost map[string]PeerConfig
}

// NewPeerTable builds the table; identities compare case-insensitively
// (DiameterIdentity is an FQDN, RFC 6733 4.3.1).
func NewPeerTable(peers []PeerConfig) (*PeerTable, error) {
	t := &PeerTable{byHost: make(map[string]PeerConfig, len(peers))}
	for i, p := range peers {
		h := strings.ToLower(p.OriginHost)
		if h == "" || p.OriginRealm == "" {
			return nil, fmt.Errorf("peer %d: origin_host and origin_realm are required", i)
		}
		if _, dup := t.byHost[h]; dup {
			return nil, fmt.Errorf("peer %d: origin_host %q listed twice", i, p.OriginHost)
		}
		switch p.Kind {
		case PeerSCS:
			if len(p.SCSOriginHosts) > 0 {
				return nil, fmt.Errorf("peer %q: scs_origin_hosts is only for agents", p.OriginHost)
			}
		case PeerAgent:
			if len(p.SCSOriginHosts) == 0 {
				return nil, fmt.Errorf("peer %q: an agent must list the SCS origin hosts it may carry", p.OriginHost)
			}
		default:
			return nil, fmt.Errorf("peer %q: kind %q is neither %q nor %q", p.OriginHost, p.Kind, PeerSCS, PeerAgent)
		}
		t.byHost[h] = p
	}
	return t, nil
}

// AdmitPeer implements diam.PeerAdmitter.
func (t *PeerTable) AdmitPeer(originHost, originRealm string, cs *tls.ConnectionState) (*diam.PeerBinding, error) {
	if originHost == "" {
		return nil, fmt.Errorf("CER has no Origin-Host")
	}
	if cs == nil {
		return nil, fmt.Errorf("Origin-Host %q: no TLS on this connection, so no certificate proves it", originHost)
	}
	if err := CheckOriginHost(*cs, originHost); err != nil {
		return nil, err
	}
	p, ok := t.byHost[strings.ToLower(originHost)]
	if !ok {
		return nil, fmt.Errorf("Origin-Host %q is not a configured peer", originHost)
	}
	if !strings.EqualFold(p.OriginRealm, originRealm) {
		return nil, fmt.Errorf("Origin-Realm %q does not match the realm %q configured for %q", originRealm, p.OriginRealm, originHost)
	}
	b := &diam.PeerBinding{OriginHost: originHost, OriginRealm: originRealm, Kind: string(p.Kind), Originators: map[string]bool{}}
	if p.Kind == PeerAgent {
		for _, h := range p.SCSOriginHosts {
			b.Originators[h] = true
		}
	} else {
		b.Originators[originHost] = true
	}
	return b, nil
}

var _ diam.PeerAdmitter = (*PeerTable)(nil)
