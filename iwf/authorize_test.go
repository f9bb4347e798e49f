package iwf

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/security"
	"github.com/mtciwf/mtciwf/security/policy"
)

// kindAdmitter is the transport's admitter: it binds every peer with kind.
type kindAdmitter map[string]string

func (k kindAdmitter) AdmitPeer(host, _ string, _ *tls.ConnectionState) (*diam.PeerBinding, error) {
	return &diam.PeerBinding{OriginHost: host, Kind: k[host]}, nil
}

// TestPolicyAdmitter: a peer is admitted only when the transport and the
// policy agree on what it is; each refusal names the peer and both sides.
func TestPolicyAdmitter(t *testing.T) {
	p, err := policy.Compile(&policy.File{Name: "admit", SCS: []policy.SCSEntry{{
		ID: "scs1", Identity: procSCSIdentity,
		Peers:  []policy.PeerIdentity{{OriginHost: "scs1.example.com", Realm: "scs.example.com"}},
		Agents: []string{"dra1.example.com"},
		Rules:  []policy.Rule{{Selector: policy.Selector{Kind: policy.SelExternalIDDomain, Value: procUEDomain}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	scs, agent := string(security.PeerSCS), string(security.PeerAgent)
	a := &PolicyAdmitter{Current: func() *policy.Policy { return p }, Base: kindAdmitter{
		"scs1.example.com": scs, "dra1.example.com": agent, "unknown.example.com": scs,
	}}
	for _, tc := range []struct {
		host, realm string
		want        []string // "" = admitted; else fragments of the error
	}{
		{"scs1.example.com", "scs.example.com", nil},
		{"dra1.example.com", "anything.example", nil},
		{"unknown.example.com", "scs.example.com", []string{`"unknown.example.com"`, "no entry"}},
		{"scs1.example.com", "other.example.com", []string{`"other.example.com"`, `"scs.example.com"`}},
	} {
		_, err := a.AdmitPeer(tc.host, tc.realm, nil)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: %v, want admitted", tc.host, err)
		case tc.want != nil && err == nil:
			t.Errorf("%s: admitted, want refused", tc.host)
		case err != nil:
			for _, f := range tc.want {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("%s: %q does not say %s", tc.host, err, f)
				}
			}
		}
	}
	// The transport and the policy disagree on the kind: the error says
	// what each side says.
	a.Base = kindAdmitter{"scs1.example.com": agent, "dra1.example.com": scs}
	for host, want := range map[string]string{
		"scs1.example.com": `kind "agent" in the peer configuration but an SCS in the authorization policy`,
		"dra1.example.com": `kind "scs" in the peer configuration but an agent in the authorization policy`,
	} {
		if _, err := a.AdmitPeer(host, "scs.example.com", nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", host, err, want)
		}
	}
}
