package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mtciwf/mtciwf/diam/core"
)

// File is the subscriber file (configs/subscribers.yaml is the commented
// example): the subscribers the HSS knows and, optionally, failures to
// inject from the start.
type File struct {
	Subscribers []Subscriber `yaml:"subscribers"`
	// Inject lists failures active from the start (see Injection).
	Inject []Injection `yaml:"inject"`
}

// Subscriber is one UE subscription as the HSS sees it.
type Subscriber struct {
	// Name labels the subscriber in logs; optional.
	Name string `yaml:"name"`
	// ExternalIdentifiers are the UE's External Identifiers,
	// "<local-id>@<domain-id>" (TS 23.682 4.6.2). A SIR may name any of them.
	ExternalIdentifiers []string `yaml:"external_identifiers"`
	// MSISDN in international E.164 digits, without "+". Optional when the
	// subscriber has an external identifier.
	MSISDN string `yaml:"msisdn"`
	// IMSI, 6 to 15 digits. Required: the HSS returns it in User-Name.
	IMSI string `yaml:"imsi"`
	// AllowedSCS are the SCS-Identity values (E.164 digits) that may trigger
	// this UE. Empty means none: every SIR is answered
	// DIAMETER_ERROR_UNAUTHORIZED_REQUESTING_ENTITY (5510).
	AllowedSCS []string `yaml:"allowed_scs"`
	// TriggerService is whether device triggering is allowed for this UE;
	// false answers DIAMETER_ERROR_UNAUTHORIZED_SERVICE (5511). Default true.
	TriggerService *bool `yaml:"trigger_service"`
	// Absent sets HSS-Cause bit 0 (Absent Subscriber) in the SIA; the SIA
	// then has no serving node (TS 29.336 T4-Data rules). The SMS-SC reports
	// such a subscriber's triggers as "absent" unless DeliveryOutcome says
	// otherwise.
	Absent bool `yaml:"absent"`
	// ServingNode is returned in T4-Data when the subscriber is not absent.
	ServingNode ServingNode `yaml:"serving_node"`
	// DeliveryOutcome overrides the global delivery outcome for this UE's
	// triggers (successful, absent, memory, expired).
	DeliveryOutcome Outcome `yaml:"delivery_outcome"`
	// AbsentDiagnostic goes with an "absent" outcome in the DRR
	// (Absent-Subscriber-Diagnostic-T4); optional.
	AbsentDiagnostic AbsentDiagnostic `yaml:"absent_diagnostic"`
}

// TriggerAllowed reports the effective trigger_service value.
func (s *Subscriber) TriggerAllowed() bool { return s.TriggerService == nil || *s.TriggerService }

// label names the subscriber in logs without an identity (Name, else the
// position in the file).
func (s *Subscriber) label(i int) string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("subscribers[%d]", i)
}

// ServingNode is the node serving the UE, in one of the combinations of
// TS 29.336 / 29.173 (reference 3gpp-mtc.md 2.3): an MME (name, realm and
// number for MT-SMS), an MSC number (optionally with the MME name and realm,
// SGs), or an SGSN number.
type ServingNode struct {
	MME        *MME   `yaml:"mme"`
	MSCNumber  string `yaml:"msc_number"`
	SGSNNumber string `yaml:"sgsn_number"`
}

// MME is an MME serving node.
type MME struct {
	Name   string `yaml:"name"`
	Realm  string `yaml:"realm"`
	Number string `yaml:"number"` // MME-Number-for-MT-SMS, E.164 digits
}

// Empty reports whether no serving node is configured.
func (n ServingNode) Empty() bool { return n.MME == nil && n.MSCNumber == "" && n.SGSNNumber == "" }

// LoadFile reads and validates a subscriber file.
func LoadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := ParseFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// ParseFile decodes a subscriber file strictly (unknown keys are errors) and
// validates it.
func ParseFile(b []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if _, err := newDirectory(f.Subscribers); err != nil {
		return nil, err
	}
	for i, in := range f.Inject {
		if err := in.validate(); err != nil {
			return nil, fmt.Errorf("inject[%d]: %w", i, err)
		}
	}
	return &f, nil
}

// directory indexes subscribers by every identity a request may carry.
// Immutable after newDirectory.
type directory struct {
	subs   []Subscriber
	byExt  map[string]int
	byMSI  map[string]int
	byIMSI map[string]int
}

// newDirectory validates subs and indexes a normalized copy of them (a
// leading "+" dropped from E.164 numbers); the caller's slice is not changed.
func newDirectory(subs []Subscriber) (*directory, error) {
	d := &directory{subs: make([]Subscriber, len(subs)), byExt: map[string]int{}, byMSI: map[string]int{}, byIMSI: map[string]int{}}
	var errs []error
	for i := range subs {
		s := &d.subs[i]
		*s = subs[i]
		s.MSISDN = strings.TrimPrefix(s.MSISDN, "+")
		s.ExternalIdentifiers = slices.Clone(s.ExternalIdentifiers)
		s.AllowedSCS = make([]string, len(subs[i].AllowedSCS))
		for j, a := range subs[i].AllowedSCS {
			s.AllowedSCS[j] = strings.TrimPrefix(a, "+")
		}
		if s.ServingNode.MME != nil {
			m := *s.ServingNode.MME
			s.ServingNode.MME = &m
		}
		if err := d.add(i, s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.label(i), err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

func (d *directory) add(i int, s *Subscriber) error {
	if core.CheckIMSI(s.IMSI) != nil {
		return fmt.Errorf("imsi %q: want 6 to 15 digits", s.IMSI)
	}
	if s.MSISDN != "" {
		if err := core.CheckE164(s.MSISDN); err != nil {
			return fmt.Errorf("msisdn %q: want 1 to 15 E.164 digits (%v)", s.MSISDN, err)
		}
	}
	if len(s.ExternalIdentifiers) == 0 && s.MSISDN == "" {
		return errors.New("needs at least one external identifier or an msisdn: a SIR could not find it")
	}
	for _, e := range s.ExternalIdentifiers {
		// "<local-id>@<domain-id>" as the typed messages enforce it, so a
		// file cannot hold an identity no SIR can carry.
		if err := core.CheckExternalIdentifier(e); err != nil {
			return err
		}
	}
	for _, scs := range s.AllowedSCS {
		if err := core.CheckE164(scs); err != nil {
			return fmt.Errorf("allowed_scs %q: want E.164 digits (the SCS-Identity): %v", scs, err)
		}
	}
	if err := s.ServingNode.validate(); err != nil {
		return err
	}
	if s.Absent && !s.ServingNode.Empty() {
		return errors.New("absent: true and a serving_node: an absent subscriber has no serving node (TS 29.336 T4-Data)")
	}
	if !s.Absent && s.ServingNode.Empty() {
		return errors.New("no serving_node: give one (mme, msc_number or sgsn_number) or set absent: true")
	}
	if s.AbsentDiagnostic != "" && s.DeliveryOutcome != OutcomeAbsent && !(s.Absent && s.DeliveryOutcome == OutcomeUnset) {
		return errors.New("absent_diagnostic is only sent with the absent delivery outcome")
	}
	if _, dup := d.byIMSI[s.IMSI]; dup {
		return errors.New("imsi listed twice")
	}
	d.byIMSI[s.IMSI] = i
	if s.MSISDN != "" {
		if _, dup := d.byMSI[s.MSISDN]; dup {
			return fmt.Errorf("msisdn %s listed twice", s.MSISDN)
		}
		d.byMSI[s.MSISDN] = i
	}
	for _, e := range s.ExternalIdentifiers {
		k := extKey(e)
		if _, dup := d.byExt[k]; dup {
			return fmt.Errorf("external identifier %q listed twice", e)
		}
		d.byExt[k] = i
	}
	return nil
}

func (n ServingNode) validate() error {
	if n.MME != nil {
		if n.MME.Name == "" || n.MME.Realm == "" {
			return errors.New("serving_node.mme: name and realm are required")
		}
		if n.MME.Number == "" && n.MSCNumber == "" {
			return errors.New("serving_node.mme: give number (MME-Number-for-MT-SMS) or an msc_number (SMS over SGs)")
		}
		if n.MME.Number != "" {
			if err := core.CheckE164(n.MME.Number); err != nil {
				return fmt.Errorf("serving_node.mme.number %q: want E.164 digits: %v", n.MME.Number, err)
			}
		}
	}
	if n.MSCNumber != "" {
		if err := core.CheckE164(n.MSCNumber); err != nil {
			return fmt.Errorf("serving_node.msc_number %q: want E.164 digits: %v", n.MSCNumber, err)
		}
	}
	if n.SGSNNumber != "" {
		if err := core.CheckE164(n.SGSNNumber); err != nil {
			return fmt.Errorf("serving_node.sgsn_number %q: want E.164 digits: %v", n.SGSNNumber, err)
		}
		if n.MME != nil || n.MSCNumber != "" {
			return errors.New("serving_node: sgsn_number cannot be combined with mme or msc_number (one serving node; Additional-Serving-Node is not simulated)")
		}
	}
	return nil
}

// extKey compares external identifiers with the domain case-folded (it is a
// domain name) and the local part as given.
func extKey(e string) string {
	local, domain, ok := strings.Cut(e, "@")
	if !ok {
		return e
	}
	return local + "@" + strings.ToLower(domain)
}

// byExternalID finds the subscriber holding external identifier e.
func (d *directory) byExternalID(e string) (*Subscriber, bool) {
	i, ok := d.byExt[extKey(e)]
	if !ok {
		return nil, false
	}
	return &d.subs[i], true
}

// byMSISDN finds the subscriber with msisdn (a leading "+" is ignored).
func (d *directory) byMSISDN(msisdn string) (*Subscriber, bool) {
	i, ok := d.byMSI[strings.TrimPrefix(msisdn, "+")]
	if !ok {
		return nil, false
	}
	return &d.subs[i], true
}

// byIMSIValue finds the subscriber with imsi.
func (d *directory) byIMSIValue(imsi string) (*Subscriber, bool) {
	i, ok := d.byIMSI[imsi]
	if !ok {
		return nil, false
	}
	return &d.subs[i], true
}

// allows reports whether scs (E.164 digits) may trigger s.
func (s *Subscriber) allows(scs string) bool {
	scs = strings.TrimPrefix(scs, "+")
	for _, a := range s.AllowedSCS {
		if a == scs {
			return true
		}
	}
	return false
}
