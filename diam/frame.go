package diam

// The frame guard: it reads exactly one Diameter message from a stream and
// checks its framing before go-diameter decodes a byte of it.
//
// go-diameter v4.3.0 trusts every length it reads (see
// /work/shared/reference/go-diameter.md §4): a Message-Length below 20
// makes it allocate 4 GiB, it has no upper bound, an AVP Length that is too
// short or overruns its parent leaves a nil Data behind and the next
// (*AVP).Len panics, and deeply nested Grouped AVPs cost quadratic CPU. It
// also advances through a message by the length of the *decoded* value, not
// by the AVP Length on the wire, so a fixed-size AVP (Unsigned32, Time, ...)
// whose AVP Length is wrong for its type, or an Address it cannot represent,
// makes it read the rest of the message at the wrong offset: an AVP hidden
// inside another AVP's payload then decodes as a real one (smuggling), or
// the misread lengths panic. The guard therefore knows, from the same
// dictionary the decoder uses, the data type of every AVP (AVPTypeFunc), and
// accepts a frame only when go-diameter will see the very AVP boundaries the
// guard saw.

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// Defaults of FrameLimits.
const (
	frameDefaultMaxMessageSize = 65536
	frameDefaultMaxDepth       = 8
	frameDefaultMaxAVPs        = 1024
)

const (
	frameHeaderLen    = 20 // RFC 6733 3
	frameAVPHeaderLen = 8  // RFC 6733 4.1, without Vendor-ID
	frameAVPVendorLen = 12 // RFC 6733 4.1, with Vendor-ID (V bit set)
)

// FrameLimits bounds what one received message may cost. A zero (or
// negative) field means the documented default, never "unlimited".
type FrameLimits struct {
	// MaxMessageSize is the largest Message-Length accepted, in bytes,
	// header included. Default 65536. A larger message is refused with
	// 5015 before its body is read or any memory is set aside for it.
	MaxMessageSize int
	// MaxDepth is the deepest level an AVP may sit at: top-level AVPs are
	// at depth 1, the members of a depth-1 Grouped AVP at depth 2, and so
	// on. Default 8.
	MaxDepth int
	// MaxAVPs is the most AVPs a message may carry, counting every AVP
	// inside Grouped AVPs and the Grouped AVPs themselves. Default 1024.
	MaxAVPs int
}

// effective returns l with every unset field replaced by its default.
func (l FrameLimits) effective() FrameLimits {
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = frameDefaultMaxMessageSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = frameDefaultMaxDepth
	}
	if l.MaxAVPs <= 0 {
		l.MaxAVPs = frameDefaultMaxAVPs
	}
	return l
}

// AVPTypeFunc reports the data type godiam.ReadMessage will decode an AVP
// as: the AVP with the given code and Vendor-ID (0 when the V bit is clear)
// in a message whose header carries application appID. It returns
// datatype.UnknownType for an AVP the dictionary does not know; the guard
// treats those as opaque bytes (answering 5001 for them is the validator's
// business, not the guard's). It must be safe for concurrent use.
//
// The guard walks into datatype.GroupedType AVPs and checks the length of
// fixed-size types and the Address format; see CheckFrame.
type AVPTypeFunc func(appID, code, vendorID uint32) datatype.TypeID

// frameAVPKey indexes AVPTypesFromDict's table.
type frameAVPKey struct {
	app, code, vendor uint32
}

// AVPTypesFromDict returns the AVPTypeFunc of dictionary d: for every
// application in d, what d.FindAVPByCode (the decoder's own lookup,
// vendor fallback included) answers. The table is computed once here, so
// the returned function is a map lookup, safe for concurrent use. Call it
// after d is fully loaded (later Loads are not seen), once per dictionary
// rather than per connection. A nil d stands for dict.Default, as it does
// for a go-diameter Message.
func AVPTypesFromDict(d *dict.Parser) AVPTypeFunc {
	if d == nil {
		d = dict.Default
	}
	type codeVendor struct{ code, vendor uint32 }
	apps := make(map[uint32]bool)
	pairs := make(map[codeVendor]bool)
	for _, app := range d.Apps() {
		apps[app.ID] = true
		for _, a := range app.AVP {
			pairs[codeVendor{a.Code, a.VendorID}] = true
			pairs[codeVendor{a.Code, dict.UndefinedVendorID}] = true
		}
	}
	table := make(map[frameAVPKey]datatype.TypeID, len(apps)*len(pairs))
	for app := range apps {
		for p := range pairs {
			a, err := d.FindAVPByCode(app, p.code, p.vendor)
			if err != nil || a == nil {
				continue // unknown to this application: opaque
			}
			table[frameAVPKey{app, p.code, p.vendor}] = a.Data.Type
		}
	}
	return func(appID, code, vendorID uint32) datatype.TypeID {
		if t, ok := table[frameAVPKey{appID, code, vendorID}]; ok {
			return t
		}
		// FindAVPByCode retries any other Vendor-ID as "undefined".
		if vendorID != dict.UndefinedVendorID {
			if t, ok := table[frameAVPKey{appID, code, dict.UndefinedVendorID}]; ok {
				return t
			}
		}
		return datatype.UnknownType
	}
}

// FrameReader reads Diameter messages from a stream, one frame per call to
// Next, and refuses the malformed ones. It is not safe for concurrent use.
//
// It holds no buffer between calls: each frame is a fresh allocation of
// exactly its Message-Length, made only after the header has been checked,
// so one frame costs at most FrameLimits.MaxMessageSize bytes, whatever the
// header claims, and an idle connection costs nothing.
type FrameReader struct {
	r     io.Reader
	lim   FrameLimits
	types AVPTypeFunc
	hdr   [frameHeaderLen]byte
	err   error // sticky: the stream is out of step, every later Next fails
}

// NewFrameReader returns a FrameReader reading from r (usually the
// connection) under lim, walking AVPs typed by types. A nil types treats
// every AVP as opaque: only top-level AVP framing is checked, which is not
// enough to hand the frame to godiam.ReadMessage.
func NewFrameReader(r io.Reader, lim FrameLimits, types AVPTypeFunc) *FrameReader {
	return &FrameReader{r: r, lim: lim.effective(), types: types}
}

// Next reads the next frame and returns it, header and body, in a new
// slice the caller owns.
//
// Errors:
//   - io.EOF when the stream ends cleanly between frames; errors of the
//     underlying reader (timeouts included) as they are. A stream that ends
//     inside a frame yields io.ErrUnexpectedEOF.
//   - *ProtocolError for a malformed frame (Header set once the 20-byte
//     header was read). Next never reads past the header of a frame whose
//     version or Message-Length is bad. When the error's Close is false the
//     whole frame was consumed and the next call reads the next frame.
//
// Once the stream is out of step (an error after part of a frame was read,
// or a *ProtocolError with Close set), every later call returns that same
// error. An error with no byte of the frame read (a read deadline on an idle
// connection) leaves the reader usable.
func (f *FrameReader) Next() ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	n, err := io.ReadFull(f.r, f.hdr[:])
	if err != nil {
		if n > 0 {
			// io.ReadFull already says ErrUnexpectedEOF for a short
			// header; other errors are kept as they are.
			f.err = err
		}
		return nil, err
	}
	length, perr := frameCheckHeader(f.hdr[:], f.lim)
	if perr != nil {
		f.err = perr // always Close: the frame boundary is unknown
		return nil, perr
	}
	frame := make([]byte, length)
	copy(frame, f.hdr[:])
	if _, err := io.ReadFull(f.r, frame[frameHeaderLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the header promised a body
		}
		f.err = err
		return nil, err
	}
	if perr := CheckFrame(frame, f.lim, f.types); perr != nil {
		if perr.Close {
			f.err = perr
		}
		return nil, perr
	}
	return frame, nil
}

// CheckFrame validates a complete frame already in memory and returns nil
// when godiam.ReadMessage may decode it, with the dictionary types was built
// from, without panicking or losing step. Zero fields of lim take their
// defaults. The checks, in order:
//
//   - version ≠ 1: 5011 DIAMETER_UNSUPPORTED_VERSION, Close.
//   - Message-Length < 20, > MaxMessageSize, not a multiple of 4, or not the
//     frame's length: 5015 DIAMETER_INVALID_MESSAGE_LENGTH, Close.
//   - E bit set in a request: 3008 DIAMETER_INVALID_HDR_BITS, not Close.
//   - every AVP, walking into Grouped ones: AVP Length shorter than its
//     header, overrunning (itself or with its padding) the message body or
//     the enclosing Grouped AVP, or wrong for a fixed-size type or an
//     Address: 5014 DIAMETER_INVALID_AVP_LENGTH, Close, Failed-AVP set.
//   - an AVP deeper than MaxDepth, or more than MaxAVPs AVPs: 5012
//     DIAMETER_UNABLE_TO_COMPLY, not Close.
//   - an Address with a reserved AddressType (0, 65535): 5004
//     DIAMETER_INVALID_AVP_VALUE; an Address go-diameter would misread (an
//     IPv4-mapped IPv6 address, or another family whose Address is 4 or 16
//     octets long): 5012; neither Close.
//
// Header is set on every error from a frame of at least 20 bytes.
func CheckFrame(frame []byte, lim FrameLimits, types AVPTypeFunc) *ProtocolError {
	lim = lim.effective()
	if len(frame) < frameHeaderLen {
		return &ProtocolError{
			Code:   ResultInvalidMessageLength,
			Reason: fmt.Sprintf("frame of %d bytes is shorter than the 20-byte Diameter header", len(frame)),
			Close:  true,
		}
	}
	length, perr := frameCheckHeader(frame, lim)
	if perr != nil {
		return perr
	}
	if length != len(frame) {
		return frameHeaderError(frame, ResultInvalidMessageLength, true,
			fmt.Sprintf("Message-Length %d does not match the frame's %d bytes", length, len(frame)))
	}
	// RFC 6733 3: the E bit "MUST NOT be set in request messages" and
	// 3008 names a header bit set to an invalid combination. The frame
	// itself is intact, so the connection may carry on. The reserved bits
	// are ignored, as RFC 6733 3 tells the receiver to.
	flags := frame[4]
	if flags&godiam.RequestFlag != 0 && flags&godiam.ErrorFlag != 0 {
		return frameHeaderError(frame, ResultInvalidHdrBits, false,
			fmt.Sprintf("E bit set in a request (command flags 0x%02x)", flags))
	}
	if perr := frameWalk(frame, lim, types); perr != nil {
		perr.Header = frameHeader(frame)
		return perr
	}
	return nil
}

// frameCheckHeader checks the version and Message-Length of a 20-byte
// header (RFC 6733 3) and returns the Message-Length.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Version    |                 Message Length                |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Command Flags |                  Command Code                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Application-ID                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Hop-by-Hop Identifier                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      End-to-End Identifier                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  AVPs ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-
//
// Both faults close the connection: a peer speaking another version, or a
// length we cannot trust, leaves no way to find the next frame.
func frameCheckHeader(h []byte, lim FrameLimits) (int, *ProtocolError) {
	// RFC 6733 3: "This Version field MUST be set to 1"; 7.1.5: 5011.
	if h[0] != 1 {
		return 0, frameHeaderError(h, ResultUnsupportedVersion, true,
			fmt.Sprintf("Version %d is not supported (only 1)", h[0]))
	}
	// RFC 6733 3: Message-Length includes the header and is always a
	// multiple of 4; 7.1.5: 5015 for a message whose length is wrong.
	length := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	switch {
	case length < frameHeaderLen:
		return 0, frameHeaderError(h, ResultInvalidMessageLength, true,
			fmt.Sprintf("Message-Length %d is shorter than the 20-byte header", length))
	case length > lim.MaxMessageSize:
		return 0, frameHeaderError(h, ResultInvalidMessageLength, true,
			fmt.Sprintf("Message-Length %d exceeds the limit of %d bytes", length, lim.MaxMessageSize))
	case length%4 != 0:
		return 0, frameHeaderError(h, ResultInvalidMessageLength, true,
			fmt.Sprintf("Message-Length %d is not a multiple of 4", length))
	}
	return length, nil
}

// frameHeaderError builds a ProtocolError carrying the decoded header of h.
func frameHeaderError(h []byte, code uint32, closeConn bool, reason string) *ProtocolError {
	return &ProtocolError{Code: code, Reason: reason, Header: frameHeader(h), Close: closeConn}
}

// frameHeader decodes the 20-byte header at the start of h.
func frameHeader(h []byte) *godiam.Header {
	hdr := &godiam.Header{}
	_ = hdr.DecodeFromBytes(h[:frameHeaderLen]) // cannot fail on 20 bytes
	return hdr
}

// frameParent is a Grouped AVP being walked: where it starts (for error
// messages) and where its payload ends.
type frameParent struct {
	start, end int
}

// frameWalk checks every AVP of the message body, walking into Grouped AVPs
// iteratively, so the cost is linear in the frame size and the stack depth
// is bounded by lim.MaxDepth.
//
// AVP header, RFC 6733 4.1:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           AVP Code                            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|V M P r r r r r|                  AVP Length                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Vendor-ID (opt)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Data ...
//	+-+-+-+-+-+-+-+-+
//
// AVP Length covers the header and the data but not the padding to the
// next multiple of 4, which still lies inside the parent (RFC 6733 4.1, and
// 4.4 for the members of a Grouped AVP).
func frameWalk(frame []byte, lim FrameLimits, types AVPTypeFunc) *ProtocolError {
	app := binary.BigEndian.Uint32(frame[8:12])
	var inline [16]frameParent
	stack := inline[:0]
	parent := frameParent{start: -1, end: len(frame)} // start -1: the message body
	p := frameHeaderLen
	count := 0
	for {
		if p == parent.end {
			if len(stack) == 0 {
				return nil
			}
			// Members of a Grouped AVP tile its payload exactly and
			// are padded, so its own padding is zero: carry on at
			// its end.
			parent = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			continue
		}
		depth := len(stack) + 1
		avail := parent.end - p
		if avail < frameAVPHeaderLen {
			return frameAVPError(frame, p, parent, ResultInvalidAVPLength, true,
				fmt.Sprintf("only %d bytes left for an AVP header of 8", avail))
		}
		code := binary.BigEndian.Uint32(frame[p : p+4])
		flags := frame[p+4]
		length := int(frame[p+5])<<16 | int(frame[p+6])<<8 | int(frame[p+7])
		hdrLen := frameAVPHeaderLen
		if flags&avp.Vbit != 0 {
			hdrLen = frameAVPVendorLen
		}
		// RFC 6733 7.1.5 5014, 4.1: the AVP Length must at least cover
		// the header (12 octets with the V bit) and stay inside its
		// parent, padding included.
		switch {
		case length < hdrLen:
			return frameAVPError(frame, p, parent, ResultInvalidAVPLength, true,
				fmt.Sprintf("AVP Length %d is shorter than its %d-byte header", length, hdrLen))
		case length > avail:
			return frameAVPError(frame, p, parent, ResultInvalidAVPLength, true,
				fmt.Sprintf("AVP Length %d overruns %s (%d bytes left)", length, frameParentName(frame, parent), avail))
		case frameAlign4(length) > avail:
			return frameAVPError(frame, p, parent, ResultInvalidAVPLength, true,
				fmt.Sprintf("AVP Length %d plus padding overruns %s (%d bytes left)", length, frameParentName(frame, parent), avail))
		}
		// Our own bounds, not RFC ones: the framing is fine, the
		// message is merely more than we take, so answer and carry on.
		// 5012 is the RFC 6733 7.1.5 code for a request "rejected for
		// unspecified reasons"; 5009 (one AVP too often by its ABNF)
		// and 5006 (a user's resources spent) would mislead.
		if depth > lim.MaxDepth {
			return frameAVPErrorHeaderOnly(frame, p, parent, ResultUnableToComply, false,
				fmt.Sprintf("grouped AVP nesting depth %d exceeds limit %d", depth, lim.MaxDepth))
		}
		count++
		if count > lim.MaxAVPs {
			return frameAVPError(frame, p, parent, ResultUnableToComply, false,
				fmt.Sprintf("AVP count %d exceeds limit %d", count, lim.MaxAVPs))
		}
		var vendor uint32
		if hdrLen == frameAVPVendorLen {
			vendor = binary.BigEndian.Uint32(frame[p+8 : p+12])
		}
		t := datatype.UnknownType
		if types != nil {
			t = types(app, code, vendor)
		}
		payload := frame[p+hdrLen : p+length]
		if t == datatype.GroupedType {
			stack = append(stack, parent)
			parent = frameParent{start: p, end: p + length}
			p += hdrLen
			continue
		}
		if size := frameFixedSize(t); size > 0 && len(payload) != size {
			return frameAVPError(frame, p, parent, ResultInvalidAVPLength, true,
				fmt.Sprintf("AVP Length %d is wrong for %s: want %d (%d-byte header + %d)",
					length, frameTypeName(t), hdrLen+size, hdrLen, size))
		}
		if t == datatype.AddressType {
			if code, closeConn, why := frameCheckAddress(payload); why != "" {
				return frameAVPError(frame, p, parent, code, closeConn, why)
			}
		}
		p += frameAlign4(length)
	}
}

// frameFixedSize returns the payload size go-diameter assumes for type t,
// or 0 for a variable-length type. Its decoders return a value of this size
// whatever the payload length, and the decoder then steps by it.
func frameFixedSize(t datatype.TypeID) int {
	switch t {
	case datatype.Integer32Type, datatype.Unsigned32Type, datatype.EnumeratedType,
		datatype.Float32Type, datatype.TimeType, datatype.IPv4Type:
		return 4 // RFC 6733 4.2, 4.3.1 (Time, Enumerated)
	case datatype.Integer64Type, datatype.Unsigned64Type, datatype.Float64Type:
		return 8 // RFC 6733 4.2
	case datatype.IPv6Type:
		return 16
	}
	return 0
}

// frameCheckAddress checks an Address payload (RFC 6733 4.3.1: a 2-octet
// AddressType from the IANA address family numbers, then the address) and
// returns the Result-Code, Close and reason when go-diameter v4.3.0 would
// decode it to a value of another length (datatype/address.go
// DecodeAddress, Address.Len), or "" when the payload is fine.
func frameCheckAddress(b []byte) (uint32, bool, string) {
	if len(b) < 3 {
		return ResultInvalidAVPLength, true,
			fmt.Sprintf("Address of %d octets is too short for an AddressType and an address", len(b))
	}
	family := binary.BigEndian.Uint16(b[:2])
	addr := b[2:]
	switch family {
	case 0, 65535: // reserved in the IANA registry
		return ResultInvalidAVPValue, false,
			fmt.Sprintf("Address has the reserved AddressType %d", family)
	case 1: // IPv4
		if len(addr) != net.IPv4len {
			return ResultInvalidAVPLength, true,
				fmt.Sprintf("IPv4 Address of %d octets, want 4", len(addr))
		}
	case 2: // IPv6
		if len(addr) != net.IPv6len {
			return ResultInvalidAVPLength, true,
				fmt.Sprintf("IPv6 Address of %d octets, want 16", len(addr))
		}
		if net.IP(addr).To4() != nil {
			// go-diameter stores it as net.IP and counts it as a
			// 4-octet IPv4 address.
			return ResultUnableToComply, false,
				"IPv6 Address is IPv4-mapped, which this implementation cannot decode"
		}
	default:
		// go-diameter keeps the family in the value and takes any
		// 4- or 16-octet value for an IP address.
		if len(b) == net.IPv4len || len(b) == net.IPv6len {
			return ResultUnableToComply, false,
				fmt.Sprintf("Address of AddressType %d with %d octets cannot be decoded by this implementation", family, len(b))
		}
	}
	return 0, false, ""
}

// frameAVPError builds the ProtocolError for the AVP at off: Failed-AVP
// holds its code, flags and Vendor-ID as far as they lie inside its parent,
// and the payload bytes available there (RFC 6733 7.5).
func frameAVPError(frame []byte, off int, parent frameParent, code uint32, closeConn bool, reason string) *ProtocolError {
	return frameAVPErrorPayload(frame, off, parent, code, closeConn, reason, true)
}

// frameAVPErrorHeaderOnly is frameAVPError with an empty payload, for an AVP
// whose payload is the very thing that is refused (too deep).
func frameAVPErrorHeaderOnly(frame []byte, off int, parent frameParent, code uint32, closeConn bool, reason string) *ProtocolError {
	return frameAVPErrorPayload(frame, off, parent, code, closeConn, reason, false)
}

func frameAVPErrorPayload(frame []byte, off int, parent frameParent, code uint32, closeConn bool, reason string, withPayload bool) *ProtocolError {
	b := frame[off:parent.end]
	var h [frameAVPVendorLen]byte
	copy(h[:], b)
	a := &godiam.AVP{
		Code:  binary.BigEndian.Uint32(h[0:4]),
		Flags: h[4],
	}
	hdrLen := frameAVPHeaderLen
	if a.Flags&avp.Vbit != 0 {
		hdrLen = frameAVPVendorLen
		a.VendorID = binary.BigEndian.Uint32(h[8:12])
	}
	data := datatype.Unknown{}
	if withPayload && len(b) > hdrLen {
		end := int(h[5])<<16 | int(h[6])<<8 | int(h[7])
		end = min(max(end, hdrLen), len(b))
		data = append(datatype.Unknown(nil), b[hdrLen:end]...)
	}
	a.Data = data
	a.Length = hdrLen + len(data)
	return &ProtocolError{
		Code: code,
		Reason: fmt.Sprintf("AVP %d (vendor %d, flags 0x%02x) at offset %d: %s",
			a.Code, a.VendorID, a.Flags, off, reason),
		FailedAVP: []*godiam.AVP{a},
		Close:     closeConn,
	}
}

// frameParentName names parent in error messages.
func frameParentName(frame []byte, parent frameParent) string {
	if parent.start < 0 {
		return "the message body"
	}
	return fmt.Sprintf("Grouped AVP %d at offset %d", binary.BigEndian.Uint32(frame[parent.start:]), parent.start)
}

// frameTypeName returns the dictionary name of t.
func frameTypeName(t datatype.TypeID) string {
	for name, id := range datatype.Available {
		if id == t {
			return name
		}
	}
	return fmt.Sprintf("type %d", t)
}

func frameAlign4(n int) int { return (n + 3) &^ 3 }
