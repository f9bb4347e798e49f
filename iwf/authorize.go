package iwf

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/tsp"
	"github.com/mtciwf/mtciwf/security"
	"github.com/mtciwf/mtciwf/security/policy"
)

// Authorizer is the operator's first gate (DESIGN.md step 5; TS 33.187:
// per SCS, per UE and per service per UE; TS 23.682 5.2.1: quota and rate).
// It answers before any core traffic is spent on a request it refuses.
type Authorizer interface {
	// Lookup returns the policy entry of the SCS whose Origin-Host is host.
	Lookup(host string) (policy.SCS, bool)
	// Authorize judges q: identity, limits and UE x service rules, then
	// rate and quota (spent only by requests everything else allowed).
	Authorize(ctx context.Context, q policy.Query) policy.Decision
}

// PolicyAuthorizer joins the policy in force (hot-reloaded by a
// policy.Watcher) and the Limiter that keeps rates and quotas. Every
// refusal goes to the audit logger with the rule that decided.
type PolicyAuthorizer struct {
	Current func() *policy.Policy
	Limiter *policy.Limiter
	Audit   *zap.Logger
}

// Lookup implements Authorizer.
func (a *PolicyAuthorizer) Lookup(host string) (policy.SCS, bool) {
	return a.Current().Lookup(host)
}

// Authorize implements Authorizer.
func (a *PolicyAuthorizer) Authorize(ctx context.Context, q policy.Query) policy.Decision {
	p := a.Current()
	d := p.Decide(q)
	if d.Allowed {
		var err error
		d, err = a.Limiter.Allow(ctx, p, d.SCS)
		if err != nil {
			a.Audit.Error("quota store failed: request refused", zap.Error(err), zap.String("scs", q.SCS))
		}
	}
	if !d.Allowed {
		policy.Audit(a.Audit, q, d)
	}
	return d
}

// query is the policy question a Device-Action asks.
func query(c *diam.Conn, dar *tsp.DAR, validity time.Duration) policy.Query {
	da := &dar.DeviceAction
	q := policy.Query{
		SCS: dar.OriginHost, Realm: dar.OriginRealm,
		ExternalID: da.ExternalIdentifier, MSISDN: da.MSISDN, SCSIdentity: da.SCSIdentity,
		Validity: validity,
	}
	if b := c.Binding(); b != nil && b.Kind == string(security.PeerAgent) {
		q.Via = b.OriginHost
	}
	switch da.ActionType {
	case tsp.DeviceTriggerReplace:
		q.Action = policy.Replace
	case tsp.DeviceTriggerRecall:
		q.Action = policy.Recall
	default:
		q.Action = policy.Trigger
	}
	if td := da.TriggerData; td != nil {
		q.PayloadLen = len(td.Payload)
		if td.ApplicationPortIdentifier != nil {
			q.Port, q.HasPort = *td.ApplicationPortIdentifier, true
		}
		if td.PriorityIndication != nil {
			q.Priority = policy.Priority(*td.PriorityIndication)
		}
	}
	return q
}

// PolicyAdmitter (TS 33.187: the MTC-IWF authorizes the SCS; TS 29.368
// 6.3.2: an SCS may reach it through a Diameter agent) admits at CER only
// peers that both the transport
// configuration (base: who may connect, with which certificate and realm)
// and the policy in force know: an SCS needs a policy entry naming its
// Origin-Host, an agent must be listed for at least one SCS. A peer the
// policy drops on reload is disconnected by the daemon (DPR).
type PolicyAdmitter struct {
	Base    diam.PeerAdmitter
	Current func() *policy.Policy
}

// AdmitPeer implements diam.PeerAdmitter.
func (a *PolicyAdmitter) AdmitPeer(originHost, originRealm string, cs *tls.ConnectionState) (*diam.PeerBinding, error) {
	b, err := a.Base.AdmitPeer(originHost, originRealm, cs)
	if err != nil {
		return nil, err
	}
	p, ok := a.Current().Peers()[strings.ToLower(originHost)]
	switch {
	case !ok:
		return nil, fmt.Errorf("Origin-Host %q has no entry in the authorization policy", originHost)
	case p.Agent != (b.Kind == string(security.PeerAgent)):
		inPolicy := "an SCS"
		if p.Agent {
			inPolicy = "an agent"
		}
		return nil, fmt.Errorf("Origin-Host %q is of kind %q in the peer configuration but %s in the authorization policy",
			originHost, b.Kind, inPolicy)
	case !p.Agent && p.Realm != "" && !strings.EqualFold(p.Realm, originRealm):
		return nil, fmt.Errorf("Origin-Realm %q is not the realm %q the authorization policy gives %q", originRealm, p.Realm, originHost)
	}
	return b, nil
}
