package sim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/security"
)

// admitter admits MTC-IWFs at CER: the configured Origin-Hosts, or any host
// when none is configured (a test rig). On TLS the Origin-Host must also be
// a dNSName of the verified client certificate, as the MTC-IWF requires of
// its own peers.
type admitter struct {
	hosts map[string]bool // lower-cased; empty admits any
}

func newAdmitter(hosts []string) *admitter {
	a := &admitter{hosts: map[string]bool{}}
	for _, h := range hosts {
		a.hosts[strings.ToLower(h)] = true
	}
	return a
}

// AdmitPeer implements diam.PeerAdmitter.
func (a *admitter) AdmitPeer(originHost, originRealm string, cs *tls.ConnectionState) (*diam.PeerBinding, error) {
	if originHost == "" {
		return nil, errors.New("CER has no Origin-Host")
	}
	if len(a.hosts) > 0 && !a.hosts[strings.ToLower(originHost)] {
		return nil, fmt.Errorf("Origin-Host %q is not a configured MTC-IWF", originHost)
	}
	if cs != nil {
		if err := security.CheckOriginHost(*cs, originHost); err != nil {
			return nil, err
		}
	}
	// Requests may come from the peer itself or, through a DRA in front of
	// the simulator, from any configured MTC-IWF (all of them when the list
	// is empty): a relay keeps the requester's Origin-Host (RFC 6733 6.1.9).
	b := &diam.PeerBinding{OriginHost: originHost, OriginRealm: originRealm, Kind: "mtciwf",
		Originators: map[string]bool{originHost: true}, AnyOriginator: len(a.hosts) == 0}
	for h := range a.hosts {
		b.Originators[h] = true
	}
	return b, nil
}

var _ diam.PeerAdmitter = (*admitter)(nil)
