// Package codectest holds the test helpers of diam/tsp, diam/s6m and
// diam/t4: sending a message through the frame guard and back, editing a
// decoded message to break it, checking a refusal, the seed-corpus files
// of the fuzz targets, the encode and decode benchmarks (bench.go). It is
// imported by tests only.
package codectest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
)

// ID is the identity the tests answer as.
var ID = &diam.Identity{OriginHost: "mtciwf.operator.example", OriginRealm: "operator.example"}

// Vendor3GPP is the 3GPP Vendor-Id.
const Vendor3GPP = 10415

// SeedEnv set to 1 rewrites the seed corpora instead of checking them.
const SeedEnv = "MTCIWF_WRITE_FUZZ_SEEDS"

// Wire serializes m, passes it through the frame guard and reads it back
// with d, as a peer would receive it.
func Wire(tb testing.TB, m *godiam.Message, d *dict.Parser) *godiam.Message {
	tb.Helper()
	b, err := m.Serialize()
	if err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	if pe := diam.CheckFrame(b, diam.FrameLimits{}, diam.AVPTypesFromDict(d)); pe != nil {
		tb.Fatalf("frame guard refuses our own message: %v", pe)
	}
	got, err := godiam.ReadMessage(bytes.NewReader(b), d)
	if err != nil {
		tb.Fatalf("read back: %v", err)
	}
	return got
}

// Dict loads an interface's dictionary (dictionaries.Tsp, S6m or T4).
func Dict(tb testing.TB, load func() (*dict.Parser, error)) *dict.Parser {
	tb.Helper()
	d, err := load()
	if err != nil {
		tb.Fatalf("dictionary: %v", err)
	}
	return d
}

// Sent builds the request r with d and its Message method (encode), and
// passes it through the frame guard and back (Wire), as the peer receives it.
func Sent[T any](tb testing.TB, r *T, encode func(*T, *dict.Parser) (*godiam.Message, error), d *dict.Parser) *godiam.Message {
	tb.Helper()
	m, err := encode(r, d)
	if err != nil {
		tb.Fatalf("%T.Message: %v", r, err)
	}
	return Wire(tb, m, d)
}

// Valid checks m against the dictionary like the receiving side does.
func Valid(tb testing.TB, m *godiam.Message, d *dict.Parser) {
	tb.Helper()
	if pe := diam.Validate(m, d); pe != nil {
		tb.Fatalf("dictionary validation refuses our message: %v", pe)
	}
}

// Reread serializes a hand-edited message and reads it back (no guard), so
// AVP lengths and types are what a receiver would see.
func Reread(tb testing.TB, m *godiam.Message, d *dict.Parser) *godiam.Message {
	tb.Helper()
	m.Header.MessageLength = uint32(m.Len()) // the edits bypassed AddAVP
	b, err := m.Serialize()
	if err != nil {
		tb.Fatalf("reread: the edited message does not serialize: %v", err)
	}
	got, err := godiam.ReadMessage(bytes.NewReader(b), d)
	if err != nil {
		tb.Fatalf("reread: the edited message does not read back: %v", err)
	}
	return got
}

// Bytes serializes m with fixed Hop-by-Hop and End-to-End ids (seeds must
// not change between runs).
func Bytes(tb testing.TB, m *godiam.Message) []byte {
	tb.Helper()
	m.Header.MessageLength = uint32(m.Len())
	m.Header.HopByHopID, m.Header.EndToEndID = 0x0a0b0c0d, 0x01020304
	b, err := m.Serialize()
	if err != nil {
		tb.Fatalf("seed message does not serialize: %v", err)
	}
	return b
}

// members finds the AVP list at the end of a path of grouped AVP codes.
func members(m *godiam.Message, path ...uint32) *[]*godiam.AVP {
	list := &m.AVP
	for _, code := range path {
		var next *[]*godiam.AVP
		for _, a := range *list {
			if a.Code == code {
				next = &a.Data.(*godiam.GroupedAVP).AVP
				break
			}
		}
		if next == nil {
			panic(fmt.Sprintf("no grouped AVP %d on the path %v", code, path))
		}
		list = next
	}
	return list
}

// Drop removes every AVP with code at path.
func Drop(m *godiam.Message, code uint32, path ...uint32) {
	l := members(m, path...)
	out := (*l)[:0]
	for _, a := range *l {
		if a.Code != code {
			out = append(out, a)
		}
	}
	*l = out
}

// Put replaces the first AVP with a's code at path, or appends a.
func Put(m *godiam.Message, a *godiam.AVP, path ...uint32) {
	l := members(m, path...)
	for i, x := range *l {
		if x.Code == a.Code {
			(*l)[i] = a
			return
		}
	}
	*l = append(*l, a)
}

// Add appends a at path, even when one with its code is there.
func Add(m *godiam.Message, a *godiam.AVP, path ...uint32) {
	l := members(m, path...)
	*l = append(*l, a)
}

// U32 builds an Unsigned32 AVP with the M bit.
func U32(code, vendor, v uint32) *godiam.AVP {
	return godiam.NewAVP(code, avp.Mbit, vendor, datatype.Unsigned32(v))
}

// Enum builds an Enumerated AVP with the M bit.
func Enum(code, vendor uint32, v int32) *godiam.AVP {
	return godiam.NewAVP(code, avp.Mbit, vendor, datatype.Enumerated(v))
}

// Octets builds an OctetString AVP with the M bit.
func Octets(code, vendor uint32, v []byte) *godiam.AVP {
	return godiam.NewAVP(code, avp.Mbit, vendor, datatype.OctetString(v))
}

// UTF8 builds a UTF8String AVP with the M bit.
func UTF8(code, vendor uint32, v string) *godiam.AVP {
	return godiam.NewAVP(code, avp.Mbit, vendor, datatype.UTF8String(v))
}

// Ident builds a DiameterIdentity AVP with the M bit.
func Ident(code, vendor uint32, v string) *godiam.AVP {
	return godiam.NewAVP(code, avp.Mbit, vendor, datatype.DiameterIdentity(v))
}

// Group builds a grouped AVP with the M bit.
func Group(code, vendor uint32, members ...*godiam.AVP) *godiam.AVP {
	return godiam.NewAVP(code, avp.Mbit, vendor, &godiam.GroupedAVP{AVP: members})
}

// CheckPE checks a decode refusal: its code, the codes of its Failed-AVP
// members (nil: not checked), a Reason containing want.
func CheckPE(tb testing.TB, pe *diam.ProtocolError, code uint32, failed []uint32, want string) {
	tb.Helper()
	if pe == nil {
		tb.Fatalf("decoded; want %d (%s)", code, want)
	}
	if pe.Code != code {
		tb.Fatalf("code %d (%s); want %d", pe.Code, pe.Reason, code)
	}
	if !strings.Contains(pe.Reason, want) {
		tb.Fatalf("reason %q does not contain %q", pe.Reason, want)
	}
	if pe.Header == nil && code >= 5000 {
		tb.Fatalf("no Header in %v", pe)
	}
	if failed == nil {
		return
	}
	if len(pe.FailedAVP) != len(failed) {
		tb.Fatalf("Failed-AVP %v; want codes %v", pe.FailedAVP, failed)
	}
	for i, c := range failed {
		a := pe.FailedAVP[i]
		if a.Code != c {
			tb.Fatalf("Failed-AVP[%d] is %d; want %d", i, a.Code, c)
		}
		if (a.VendorID != 0) != (a.Flags&avp.Vbit != 0) {
			tb.Fatalf("Failed-AVP[%d] vendor %d with flags 0x%x", i, a.VendorID, a.Flags)
		}
		if _, err := a.Serialize(); err != nil {
			tb.Fatalf("Failed-AVP[%d] does not serialize: %v", i, err)
		}
	}
}

// Refused decodes m, a message a test broke, and checks the refusal with
// CheckPE; decode must not return a struct with it.
func Refused[T any](tb testing.TB, decode Decode[*T], m *godiam.Message, code uint32, failed []uint32, want string) {
	tb.Helper()
	got, pe := decode(m)
	if got != nil {
		tb.Fatalf("decoded %+v", got)
	}
	CheckPE(tb, pe, code, failed, want)
}

// DecodesTo fails tb unless decode accepts m and returns a struct equal to
// want.
func DecodesTo[T any](tb testing.TB, decode Decode[T], m *godiam.Message, want T) {
	tb.Helper()
	got, pe := decode(m)
	if pe != nil {
		tb.Fatalf("refused: %v", pe)
	}
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

// FuzzPE checks the shape of any refusal a decoder returns.
func FuzzPE(t *testing.T, pe *diam.ProtocolError) {
	t.Helper()
	switch pe.Code {
	case diam.ResultMissingAVP, diam.ResultInvalidAVPValue:
		if len(pe.FailedAVP) == 0 {
			t.Fatalf("%d without Failed-AVP: %v", pe.Code, pe)
		}
	case diam.ResultCommandUnsupported, diam.ResultApplicationUnsupported, diam.ResultInvalidHdrBits:
	default:
		t.Fatalf("unexpected code %d: %v", pe.Code, pe)
	}
	if pe.Reason == "" || pe.Header == nil {
		t.Fatalf("incomplete refusal %+v", pe)
	}
	for _, a := range pe.FailedAVP {
		if _, err := a.Serialize(); err != nil {
			t.Fatalf("Failed-AVP %v does not serialize: %v", a, err)
		}
	}
}

// RequestFor makes the request an answer answers: same command, ids and
// Session-Id.
func RequestFor(ans *godiam.Message, d *dict.Parser) *godiam.Message {
	h := ans.Header
	req := godiam.NewMessage(h.CommandCode, godiam.RequestFlag|godiam.ProxiableFlag, h.ApplicationID, h.HopByHopID, h.EndToEndID, d)
	if sid, err := ans.FindAVP(avp.SessionID, 0); err == nil && sid != nil {
		req.AddAVP(sid)
	}
	return req
}

// Guarded reads frame with d when the frame guard accepts it, like the
// connection does; nil otherwise.
func Guarded(frame []byte, d *dict.Parser, types diam.AVPTypeFunc) *godiam.Message {
	if diam.CheckFrame(frame, diam.FrameLimits{}, types) != nil {
		return nil
	}
	m, err := godiam.ReadMessage(bytes.NewReader(frame), d)
	if err != nil {
		return nil
	}
	return m
}

// WriteOrCheckSeeds keeps testdata/fuzz/<target>/seed-<name> equal to
// seeds: rewritten when SeedEnv is 1, otherwise a missing or stale file
// fails the test.
func WriteOrCheckSeeds(t *testing.T, target string, seeds map[string][]byte) {
	t.Helper()
	write := os.Getenv(SeedEnv) == "1"
	for name, b := range seeds {
		path := filepath.Join("testdata", "fuzz", target, "seed-"+name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
		if write {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, []byte(want)) {
			t.Errorf("%s is missing or stale; rerun with %s=1", path, SeedEnv)
		}
	}
}

// CorpusFile reads the one []byte value of a "go test fuzz v1" file under
// testdata/fuzz/<target>.
func CorpusFile(t *testing.T, target, name string) []byte {
	t.Helper()
	file, err := os.ReadFile(filepath.Join("testdata", "fuzz", target, name))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitN(file, []byte("\n"), 3)
	if len(lines) < 2 || !bytes.HasPrefix(lines[1], []byte("[]byte(")) {
		t.Fatalf("not a fuzz corpus file: %q", file)
	}
	lit := bytes.TrimSuffix(bytes.TrimPrefix(lines[1], []byte("[]byte(")), []byte(")"))
	s, err := strconv.Unquote(string(lit))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}
