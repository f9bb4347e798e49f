package security

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// ErrStaleCRL is wrapped by the error IsRevoked returns when the issuing CA's
// CRL is past its nextUpdate. Revocation status is then unknown and the
// certificate must be refused (fail closed).
var ErrStaleCRL = errors.New("CRL is stale")

// DefaultWatchDebounce is how long Watch waits after the last change of a
// CRL file before it reloads: an operator's copy or a config-management run
// writes in several steps, and one reload at the end is enough.
const DefaultWatchDebounce = 250 * time.Millisecond

// Revocation checks certificates against CRL files (RFC 5280 5; TS 33.310
// 6.1a CRL profile). It holds the parsed CRLs per issuing CA in an immutable
// snapshot behind an atomic pointer, so the handshake path reads it without a
// lock while Reload swaps in a new one.
//
// Policy decisions (carrier-grade defaults):
//
//   - A CRL must be signed by one of the configured trust anchors and carry a
//     nextUpdate (RFC 5280 5.1.2.5). CRLs issued by intermediate CAs are not
//     supported: configure the issuing CA itself as a trust anchor instead.
//   - Stale CRL: fail closed. Once the clock passes a CRL's nextUpdate, every
//     certificate issued by that CA is refused (rule "revoked", wrapping
//     ErrStaleCRL) until a fresh CRL is loaded, and an error is logged once.
//     An attacker who blocks CRL distribution must not win back a revoked
//     certificate; a stale CRL is an operations alarm, not a reason to accept.
//     A stale file is still loaded (it is a valid, signed CRL): that keeps the
//     refusal in force and lets other CAs' fresh CRLs load beside it.
//   - A trust anchor without any CRL while CRL files are configured is not
//     checked (logged as a warning at load): TS 33.220 M.7 makes revocation
//     optional, and a CA with no CRL cannot be checked either way.
//   - Reload is all or nothing. A file that cannot be read or parsed, a CRL
//     with a bad signature or an unknown issuer, a CRL whose cRLNumber is
//     lower than the loaded one for the same CA (replay of an old CRL), and
//     a CA whose CRL disappeared from the files keep the previous set and
//     make Reload return an error naming the file.
type Revocation struct {
	files   []string // absolute paths
	anchors []*x509.Certificate
	now     func() time.Time
	log     *zap.Logger

	snap     atomic.Pointer[crlSet]
	reloadMu sync.Mutex // one Reload at a time

	// debounce is the quiet time Watch waits for; DefaultWatchDebounce
	// unless a test shortens it.
	debounce time.Duration

	watch FileWatch
}

// crlSet is one immutable generation of loaded CRLs.
type crlSet struct {
	byIssuer map[string][]*issuerCRL // key: issuer RawSubject
}

// issuerCRL is the CRL of one trust anchor.
type issuerCRL struct {
	file       string
	issuer     *x509.Certificate
	number     *big.Int // cRLNumber; nil when absent
	thisUpdate time.Time
	nextUpdate time.Time
	revoked    map[string]struct{} // serial in hex

	staleLogged atomic.Bool // the fail-closed error is logged once per CRL
}

// NewRevocation loads crlFiles, whose CRLs must be signed by one of anchors.
// With no files, nothing is ever revoked. now is the clock for staleness;
// nil means time.Now.
func NewRevocation(anchors []*x509.Certificate, crlFiles []string, now func() time.Time, log *zap.Logger) (*Revocation, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	r := &Revocation{anchors: anchors, now: now, log: log, debounce: DefaultWatchDebounce}
	for _, f := range crlFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("security: CRL file %s: %w", f, err)
		}
		r.files = append(r.files, abs)
	}
	r.snap.Store(&crlSet{byIssuer: map[string][]*issuerCRL{}})
	if err := r.Reload(); err != nil {
		return nil, err
	}
	if len(r.files) > 0 {
		cur := r.snap.Load()
		for _, a := range anchors {
			if cur.forIssuer(a) == nil {
				log.Warn("no CRL for trust anchor: revocation of its certificates is not checked",
					zap.String("ca", a.Subject.String()))
			}
		}
	}
	return r, nil
}

// IsRevoked reports whether cert is on the CRL of its issuing CA. The issuer
// is found among the trust anchors by name, key identifier and signature. A
// certificate whose issuer has no loaded CRL is not revoked. A non-nil error
// means the status cannot be decided (it wraps ErrStaleCRL when the CRL is
// past its nextUpdate): the caller must refuse the certificate.
func (r *Revocation) IsRevoked(cert *x509.Certificate) (bool, error) {
	s := r.snap.Load()
	for _, e := range s.byIssuer[string(cert.RawIssuer)] {
		if len(cert.AuthorityKeyId) > 0 && len(e.issuer.SubjectKeyId) > 0 &&
			!bytes.Equal(cert.AuthorityKeyId, e.issuer.SubjectKeyId) {
			continue
		}
		if cert.CheckSignatureFrom(e.issuer) != nil {
			continue
		}
		return e.check(cert, r.now(), r.log)
	}
	return false, nil
}

// check looks cert up in this CRL at time now.
func (e *issuerCRL) check(cert *x509.Certificate, now time.Time, log *zap.Logger) (bool, error) {
	if now.After(e.nextUpdate) {
		if e.staleLogged.CompareAndSwap(false, true) {
			log.Error("CRL is stale: refusing every certificate of its CA until a fresh CRL is loaded (fail closed)",
				zap.String("ca", e.issuer.Subject.String()), zap.String("file", e.file),
				zap.Time("next_update", e.nextUpdate))
		}
		return false, fmt.Errorf("%w: the CRL of %s (%s) passed its nextUpdate %s",
			ErrStaleCRL, e.issuer.Subject, e.file, stamp(e.nextUpdate))
	}
	_, revoked := e.revoked[serialKey(cert.SerialNumber)]
	return revoked, nil
}

// checkChains applies revocation to every certificate of every verified
// chain, each against its own issuer (the next certificate in the chain):
// RFC 5280 6.1.3 (a)(3) checks every certificate of the path, not only the
// leaf. A certificate revoked in any chain is refused.
func (r *Revocation) checkChains(role string, leaf *x509.Certificate, chains [][]*x509.Certificate) error {
	s := r.snap.Load()
	now := r.now()
	for _, chain := range chains {
		for i := 0; i+1 < len(chain); i++ {
			c, issuer := chain[i], chain[i+1]
			e := s.forIssuer(issuer)
			if e == nil {
				continue
			}
			revoked, err := e.check(c, now, r.log)
			if err != nil {
				ce := refuse(role, RuleRevoked, leaf, "cannot be checked for revocation, refused (fail closed): %v", err)
				ce.cause = err
				return ce
			}
			if !revoked {
				continue
			}
			if i == 0 {
				return refuse(role, RuleRevoked, leaf, "is revoked: serial %s is on the CRL of %s (%s)",
					c.SerialNumber.Text(16), issuer.Subject, e.file)
			}
			return refuse(role, RuleRevoked, leaf, "chains through CA %s, which is revoked: serial %s is on the CRL of %s (%s)",
				c.Subject, c.SerialNumber.Text(16), issuer.Subject, e.file)
		}
	}
	return nil
}

// forIssuer returns the CRL whose issuer is exactly the certificate ca.
func (s *crlSet) forIssuer(ca *x509.Certificate) *issuerCRL {
	for _, e := range s.byIssuer[string(ca.RawSubject)] {
		if e.issuer.Equal(ca) || publicKeyEqual(e.issuer, ca) {
			return e
		}
	}
	return nil
}

func publicKeyEqual(a, b *x509.Certificate) bool {
	k, ok := a.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b.PublicKey)
}

func (s *crlSet) all() []*issuerCRL {
	var out []*issuerCRL
	for _, es := range s.byIssuer {
		out = append(out, es...)
	}
	return out
}

// Reload re-reads every CRL file. On any error the previous set stays in
// force and the error names the file; see the type comment for what counts
// as an error.
func (r *Revocation) Reload() error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	prev := r.snap.Load()
	next := &crlSet{byIssuer: map[string][]*issuerCRL{}}
	for _, f := range r.files {
		crls, err := r.loadFile(f)
		if err != nil {
			return fmt.Errorf("security: CRL file %s: %w; keeping the previous CRL set", f, err)
		}
		for _, c := range crls {
			// RFC 5280 5.2.3: cRLNumber increases monotonically for
			// a CA, so a lower one is an older CRL (a replay).
			if old := prev.forIssuer(c.issuer); old != nil && old.number != nil && c.number != nil && c.number.Cmp(old.number) < 0 {
				return fmt.Errorf("security: CRL file %s: cRLNumber %s of %s is lower than the loaded %s (from %s): refusing an older CRL; keeping the previous CRL set",
					f, c.number, c.issuer.Subject, old.number, old.file)
			}
			if dup := next.forIssuer(c.issuer); dup != nil {
				// Two CRLs of one CA: keep the newer one.
				if newer(dup, c) {
					continue
				}
				next.remove(dup)
			}
			key := string(c.issuer.RawSubject)
			next.byIssuer[key] = append(next.byIssuer[key], c)
		}
	}
	for _, old := range prev.all() {
		if next.forIssuer(old.issuer) == nil {
			return fmt.Errorf("security: CRL of %s (was in %s) is missing from the CRL files: refusing to drop revocation for that CA; keeping the previous CRL set",
				old.issuer.Subject, old.file)
		}
	}
	now := r.now()
	for _, c := range next.all() {
		fields := []zap.Field{
			zap.String("ca", c.issuer.Subject.String()), zap.String("file", c.file),
			zap.Int("revoked", len(c.revoked)), zap.Time("next_update", c.nextUpdate),
		}
		if c.number != nil {
			fields = append(fields, zap.String("crl_number", c.number.String()))
		}
		if now.After(c.nextUpdate) {
			c.staleLogged.Store(true)
			r.log.Error("loaded a stale CRL: refusing every certificate of its CA until a fresh CRL is loaded (fail closed)", fields...)
			continue
		}
		r.log.Info("CRL loaded", fields...)
	}
	r.snap.Store(next)
	return nil
}

func newer(a, b *issuerCRL) bool {
	if a.number != nil && b.number != nil && a.number.Cmp(b.number) != 0 {
		return a.number.Cmp(b.number) > 0
	}
	return !a.thisUpdate.Before(b.thisUpdate)
}

func (s *crlSet) remove(e *issuerCRL) {
	key := string(e.issuer.RawSubject)
	es := s.byIssuer[key]
	for i, x := range es {
		if x == e {
			s.byIssuer[key] = append(es[:i:i], es[i+1:]...)
			return
		}
	}
}

// loadFile parses every CRL in f (PEM "X509 CRL" blocks, or one DER CRL) and
// checks each against the trust anchors.
func (r *Revocation) loadFile(f string) ([]*issuerCRL, error) {
	data, err := os.ReadFile(f)
	if err != nil {
		return nil, err
	}
	var ders [][]byte
	rest := data
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == "X509 CRL" {
			ders = append(ders, blk.Bytes)
		}
	}
	if len(ders) == 0 {
		if len(data) > 0 && data[0] == 0x30 { // an ASN.1 SEQUENCE: DER
			ders = append(ders, data)
		} else {
			return nil, errors.New("no X509 CRL PEM block")
		}
	}
	out := make([]*issuerCRL, 0, len(ders))
	for _, der := range ders {
		c, err := r.parseCRL(f, der)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (r *Revocation) parseCRL(f string, der []byte) (*issuerCRL, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, err
	}
	issuer, err := r.crlIssuer(crl)
	if err != nil {
		return nil, err
	}
	// RFC 5280 5.1.2.5: conforming CRL issuers MUST include nextUpdate.
	if crl.NextUpdate.IsZero() {
		return nil, fmt.Errorf("CRL of %s has no nextUpdate (RFC 5280 5.1.2.5 requires one)", issuer.Subject)
	}
	if !crl.NextUpdate.After(crl.ThisUpdate) {
		return nil, fmt.Errorf("CRL of %s has nextUpdate %s not after thisUpdate %s",
			issuer.Subject, stamp(crl.NextUpdate), stamp(crl.ThisUpdate))
	}
	c := &issuerCRL{
		file:       f,
		issuer:     issuer,
		number:     crl.Number,
		thisUpdate: crl.ThisUpdate,
		nextUpdate: crl.NextUpdate,
		revoked:    make(map[string]struct{}, len(crl.RevokedCertificateEntries)),
	}
	for _, e := range crl.RevokedCertificateEntries {
		c.revoked[serialKey(e.SerialNumber)] = struct{}{}
	}
	return c, nil
}

// crlIssuer finds the trust anchor that signed crl: the CRL issuer name
// is the anchor's subject and the signature verifies with its key (RFC 5280
// 6.3.3 (b) and (f); authorityKeyIdentifier, 5.2.1, picks among anchors of
// one name).
func (r *Revocation) crlIssuer(crl *x509.RevocationList) (*x509.Certificate, error) {
	var sigErr error
	var named *x509.Certificate
	for _, a := range r.anchors {
		if !bytes.Equal(a.RawSubject, crl.RawIssuer) {
			continue
		}
		if len(crl.AuthorityKeyId) > 0 && len(a.SubjectKeyId) > 0 && !bytes.Equal(crl.AuthorityKeyId, a.SubjectKeyId) {
			named = a
			continue
		}
		named = a
		if err := crl.CheckSignatureFrom(a); err != nil {
			sigErr = err
			continue
		}
		return a, nil
	}
	switch {
	case sigErr != nil:
		return nil, fmt.Errorf("CRL signature does not verify against trust anchor %s: %v", named.Subject, sigErr)
	case named != nil:
		return nil, fmt.Errorf("CRL of %s has an authorityKeyIdentifier that matches no configured trust anchor of that name", named.Subject)
	default:
		return nil, fmt.Errorf("CRL issuer %s is not a configured trust anchor", crl.Issuer)
	}
}

func serialKey(n *big.Int) string { return n.Text(16) }

// Watch reloads the CRLs whenever one of their files changes, until ctx is
// done or Close is called. It watches the files' directories (fsnotify), so a
// file replaced by rename, the way operators deploy CRLs, is seen as well as
// one written in place; Kubernetes-style "..data" symlink swaps also trigger a
// reload. Changes are debounced. A failed reload is logged and the previous
// set stays. Watch returns at once; with no CRL files it does nothing.
func (r *Revocation) Watch(ctx context.Context, log *zap.Logger) error {
	if log == nil {
		log = r.log
	}
	if len(r.files) == 0 {
		return nil
	}
	return r.watch.Start(ctx, "CRL", r.files, r.debounce, func() {
		if err := r.Reload(); err != nil {
			log.Error("CRL reload failed", zap.Error(err))
		}
	}, log)
}

// Close stops Watch and waits for it to finish. It is safe to call more than
// once and without Watch.
func (r *Revocation) Close() error {
	r.watch.Stop()
	return nil
}
