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
	return &diam.PeerBinding{OriginHost: originHost, OriginRealm: originRealm, Kind: "mtciwf",
		Originators: map[string]bool{originHost: true}}, nil
}

var _ diam.PeerAdmitter = (*admitter)(nil)
