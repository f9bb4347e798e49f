package iwf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Trigger is one accepted device trigger (TS 23.682 5.2) from acceptance to
// its final report. (SCS, Reference) names it; (SMEA, Reference) is how the
// SMS-SC's Delivery-Report-Request finds it again.
//
// A Trigger handed out by a Store is the caller's own copy: changing it
// changes nothing until it goes back through Update.
type Trigger struct {
	SCS         string // SCS Origin-Host: the DNR's Destination-Host
	SCSRealm    string
	Reference   uint32 // Reference-Number chosen by the SCS (unique per SCS while open)
	ExternalID  string // as the SCS sent it (one of ExternalID / MSISDN)
	MSISDN      string // digits
	SCSIdentity string // E.164 digits
	IMSI        string // from the HSS; never leaves the operator domain
	SMEA        string // SM-RP-SMEA digits we put in the DTR (how the SMS-SC's DRR is matched); "" = not indexed
	SMSC        string // Origin-Host of the SMS-SC that took the DTR
	AppPort     uint32
	Priority    uint8
	AcceptedAt  time.Time
	// ExpiresAt is AcceptedAt + Validity-Time. The zero time means the
	// trigger never expires and Expired never lists it.
	ExpiresAt      time.Time
	State          TriggerState // Accepted, then Reported; never stored as Closed (CloseTrigger deletes the record)
	Outcome        uint8        // Tsp Delivery-Outcome once known
	ReportAttempts int          // DNR send attempts so far
	NextAttemptAt  time.Time    // outbox backoff; the zero time means "due now"

	// Revision is kept by the store: 1 after Create, one more after each
	// Update. Update refuses a trigger whose Revision is not the stored one
	// (ErrConflict), so two procedures racing on one trigger (a DRR and the
	// expiry sweep, say) cannot both win and the SCS gets exactly one report.
	Revision uint64
}

// TriggerState is where a trigger is in its life.
type TriggerState uint8

// Trigger states. The zero value is not a state, so a Trigger whose State
// was forgotten is refused rather than stored as something it is not.
const (
	// TriggerAccepted: the SMS-SC took the DTR; we wait for its DRR.
	TriggerAccepted TriggerState = 1
	// TriggerReported: the outcome is known and a DNR is owed to the SCS
	// (the outbox, see Pending).
	TriggerReported TriggerState = 2
	// TriggerClosed: the DNR was acknowledged, or the trigger was recalled or
	// replaced. A closed trigger is not stored; the value exists for callers'
	// own bookkeeping and is refused by Create and Update.
	TriggerClosed TriggerState = 3
)

func (s TriggerState) String() string {
	switch s {
	case TriggerAccepted:
		return "accepted"
	case TriggerReported:
		return "reported"
	case TriggerClosed:
		return "closed"
	}
	return "TriggerState(" + strconv.Itoa(int(s)) + ")"
}

// Store is the durable trigger state: every trigger answered with SUCCESS
// stays here until its delivery report has reached its SCS, across restarts
// and kill -9. Implementations are safe for concurrent use.
//
// Writes (Create, Update, CloseTrigger) are durable when they return nil. The ctx is
// checked before a write is queued; once queued a write is not abandoned, so
// a nil error always means "on disk" and a non-nil one means "not written"
// (except for I/O errors, which mean the store can no longer be trusted).
type Store interface {
	// Create records a new trigger durably before it returns and sets
	// t.Revision to 1. ErrDuplicate if (SCS, Reference) is open, or if
	// another open trigger already uses (SMEA, Reference).
	Create(ctx context.Context, t *Trigger) error
	// Get returns the open trigger (SCS, Reference) or ErrNotFound.
	Get(ctx context.Context, scs string, ref uint32) (*Trigger, error)
	// BySMEA finds the open trigger a DRR reports on: (SM-RP-SMEA digits,
	// Reference-Number). ErrNotFound.
	BySMEA(ctx context.Context, smea string, ref uint32) (*Trigger, error)
	// Update replaces the trigger (t.SCS, t.Reference) durably and adds one
	// to t.Revision. ErrNotFound if it is not open; ErrConflict if it changed
	// since t was read (t.Revision is stale): read it again and decide anew;
	// ErrDuplicate if a changed SMEA collides with another open trigger.
	Update(ctx context.Context, t *Trigger) error
	// CloseTrigger removes the trigger for good (its DNR was acknowledged
	// by the SCS, or it was recalled or replaced). ErrNotFound if it is not
	// open. (Not "Close": that is io.Closer's, which closes the store.)
	CloseTrigger(ctx context.Context, scs string, ref uint32) error
	// Pending lists triggers in state Reported (DNR owed) with
	// NextAttemptAt <= now, oldest NextAttemptAt first, at most limit (> 0).
	Pending(ctx context.Context, now time.Time, limit int) ([]*Trigger, error)
	// Expired lists Accepted triggers whose ExpiresAt is before the given
	// time, earliest first, at most limit (> 0). The caller passes now minus
	// the grace it allows the SMS-SC, and turns each into an EXPIRED report
	// with Update (which refuses it if a DRR got there first).
	Expired(ctx context.Context, before time.Time, limit int) ([]*Trigger, error)
	// Open counts open triggers (metrics, tests).
	Open(ctx context.Context) (int, error)
	io.Closer
}

// Errors a Store returns. Test with errors.Is.
var (
	ErrNotFound  = errors.New("iwf: trigger not found")
	ErrDuplicate = errors.New("iwf: trigger already open")
	ErrConflict  = errors.New("iwf: trigger changed since it was read")
	ErrClosed    = errors.New("iwf: store closed")
	ErrLocked    = errors.New("iwf: store file is in use by another process")
)

// CorruptError reports a stored record that cannot be decoded. Pending and
// Expired return the readable triggers together with the CorruptErrors of the
// unreadable ones (errors.Join), so one bad record never stops the outbox.
type CorruptError struct {
	Key string // bucket and readable key, e.g. triggers/"scs1.example.com"/42
	Err error
}

func (e *CorruptError) Error() string {
	return "iwf store: corrupt record " + e.Key + ": " + e.Err.Error()
}

func (e *CorruptError) Unwrap() error { return e.Err }

// maxFieldLen bounds every string field, so a record and its index keys
// always fit bbolt's 32 KiB key limit and a bad caller cannot bloat the file.
// Diameter identities and E.164 digits are far shorter.
const maxFieldLen = 1024

// validate checks what every Store refuses before touching its data.
func validate(t *Trigger) error {
	if t == nil {
		return errors.New("iwf store: nil trigger")
	}
	if t.SCS == "" {
		return errors.New("iwf store: trigger has no SCS")
	}
	if t.State != TriggerAccepted && t.State != TriggerReported {
		return fmt.Errorf("iwf store: trigger %s/%d: state %v cannot be stored (CloseTrigger removes a trigger)", t.SCS, t.Reference, t.State)
	}
	if t.ReportAttempts < 0 {
		return fmt.Errorf("iwf store: trigger %s/%d: negative ReportAttempts %d", t.SCS, t.Reference, t.ReportAttempts)
	}
	for _, f := range [...]struct{ name, v string }{
		{"SCS", t.SCS}, {"SCSRealm", t.SCSRealm}, {"ExternalID", t.ExternalID}, {"MSISDN", t.MSISDN},
		{"SCSIdentity", t.SCSIdentity}, {"IMSI", t.IMSI}, {"SMEA", t.SMEA}, {"SMSC", t.SMSC},
	} {
		if len(f.v) > maxFieldLen {
			return fmt.Errorf("iwf store: trigger %s/%d: %s is %d bytes (limit %d)", t.SCS, t.Reference, f.name, len(f.v), maxFieldLen)
		}
	}
	// NUL separates the parts of index keys.
	if strings.IndexByte(t.SCS, 0) >= 0 || strings.IndexByte(t.SMEA, 0) >= 0 {
		return fmt.Errorf("iwf store: trigger %q/%d: SCS or SMEA contains NUL", t.SCS, t.Reference)
	}
	return nil
}

func checkLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("iwf store: limit %d: must be positive", limit)
	}
	return nil
}

// Keys. Both stores order lists by these bytes, so ties break the same way.
//
//	trigger key  SCS | 0x00 | Reference (4 bytes, big endian)
//	SMEA key     SMEA | 0x00 | Reference
//	time key     time (8 bytes, see putTime) | trigger key
//
// The reference is always the last 4 bytes, so a key decodes unambiguously.

func triggerKey(scs string, ref uint32) []byte {
	k := make([]byte, 0, len(scs)+5)
	k = append(k, scs...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, ref)
}

func smeaKey(smea string, ref uint32) []byte { return triggerKey(smea, ref) }

func timeKey(at time.Time, tk []byte) []byte {
	k := make([]byte, 8, 8+len(tk))
	binary.BigEndian.PutUint64(k, timeBits(at))
	return append(k, tk...)
}

// keyString names a trigger key for error messages: "scs"/ref.
func keyString(k []byte) string {
	if len(k) < 5 || k[len(k)-5] != 0 {
		return fmt.Sprintf("%q", k)
	}
	return fmt.Sprintf("%q/%d", k[:len(k)-5], binary.BigEndian.Uint32(k[len(k)-4:]))
}

// timeBits maps a time to 8 bytes whose big-endian order is time order: Unix
// nanoseconds with the sign bit flipped. The zero time maps to 0, before
// every real time (it overflows UnixNano, so it is handled apart).
func timeBits(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano()) ^ (1 << 63)
}

func timeFromBits(b uint64) time.Time {
	if b == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(b^(1<<63)))
}

// normalize gives a time the form it has after a round trip through a
// record: nanoseconds since the epoch, local zone, no monotonic reading.
func normalize(t time.Time) time.Time { return timeFromBits(timeBits(t)) }

// Record format, version 1. SCS and Reference are not repeated: they are the
// key. Times are 8 bytes (timeBits), integers uvarints, strings a uvarint
// length and the bytes.
//
//	version (1) | state | outcome | priority | revision | report attempts |
//	app port | accepted at | expires at | next attempt at |
//	SCS realm | external id | MSISDN | SCS identity | IMSI | SMEA | SMSC
//
// A later version gets a new first byte and a decode case of its own; this
// build refuses versions it does not know rather than guess.
const recordV1 = 1

func encodeTrigger(t *Trigger) []byte {
	n := 4 + 3*binary.MaxVarintLen64 + 24 + 7*binary.MaxVarintLen16
	for _, s := range [...]string{t.SCSRealm, t.ExternalID, t.MSISDN, t.SCSIdentity, t.IMSI, t.SMEA, t.SMSC} {
		n += len(s)
	}
	b := make([]byte, 0, n)
	b = append(b, recordV1, byte(t.State), t.Outcome, t.Priority)
	b = binary.AppendUvarint(b, t.Revision)
	b = binary.AppendUvarint(b, uint64(t.ReportAttempts))
	b = binary.AppendUvarint(b, uint64(t.AppPort))
	b = binary.BigEndian.AppendUint64(b, timeBits(t.AcceptedAt))
	b = binary.BigEndian.AppendUint64(b, timeBits(t.ExpiresAt))
	b = binary.BigEndian.AppendUint64(b, timeBits(t.NextAttemptAt))
	for _, s := range [...]string{t.SCSRealm, t.ExternalID, t.MSISDN, t.SCSIdentity, t.IMSI, t.SMEA, t.SMSC} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// decodeTrigger decodes the record stored under the trigger key k. It never
// panics: a short, long or nonsensical record is an error.
func decodeTrigger(k, v []byte) (*Trigger, error) {
	if len(k) < 5 || k[len(k)-5] != 0 {
		return nil, errors.New("malformed key")
	}
	if len(v) == 0 {
		return nil, errors.New("empty record")
	}
	if v[0] != recordV1 {
		return nil, fmt.Errorf("record format version %d, this build reads %d", v[0], recordV1)
	}
	d := decoder{b: v}
	t := &Trigger{
		SCS:       string(k[:len(k)-5]),
		Reference: binary.BigEndian.Uint32(k[len(k)-4:]),
	}
	d.byte() // version
	t.State = TriggerState(d.byte())
	t.Outcome = d.byte()
	t.Priority = d.byte()
	t.Revision = d.uvarint()
	attempts := d.uvarint()
	port := d.uvarint()
	t.AcceptedAt = timeFromBits(d.uint64())
	t.ExpiresAt = timeFromBits(d.uint64())
	t.NextAttemptAt = timeFromBits(d.uint64())
	for _, s := range [...]*string{&t.SCSRealm, &t.ExternalID, &t.MSISDN, &t.SCSIdentity, &t.IMSI, &t.SMEA, &t.SMSC} {
		*s = d.string()
	}
	switch {
	case d.err != nil:
		return nil, d.err
	case d.off != len(v):
		return nil, fmt.Errorf("%d bytes after the record", len(v)-d.off)
	case t.State != TriggerAccepted && t.State != TriggerReported:
		return nil, fmt.Errorf("state %d", t.State)
	case attempts > 1<<31-1:
		return nil, fmt.Errorf("report attempts %d", attempts)
	case port > 1<<32-1:
		return nil, fmt.Errorf("application port %d", port)
	}
	t.ReportAttempts = int(attempts)
	t.AppPort = uint32(port)
	return t, nil
}

// decoder reads a record front to back; the first fault sticks in err and
// every later read returns zero.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("truncated or malformed %s at byte %d", what, d.off)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || d.off >= len(d.b) {
		d.fail("byte")
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) uint64() uint64 {
	if d.err != nil || len(d.b)-d.off < 8 {
		d.fail("time")
		return 0
	}
	d.off += 8
	return binary.BigEndian.Uint64(d.b[d.off-8:])
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("integer")
		return 0
	}
	d.off += n
	return x
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > maxFieldLen || n > uint64(len(d.b)-d.off) {
		d.fail("string")
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}
