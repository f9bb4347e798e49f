package diam

import (
	"fmt"

	godiam "github.com/fiorix/go-diameter/v4/diam"
)

// Result-Code values this package answers with (RFC 6733 7.1). go-diameter
// has most of them as constants; we name them here once so every answer in
// this package cites the same value.
const (
	ResultSuccess                = 2001 // RFC 6733 7.1.2
	ResultCommandUnsupported     = 3001 // RFC 6733 7.1.3
	ResultTooBusy                = 3004
	ResultApplicationUnsupported = 3007
	ResultInvalidHdrBits         = 3008
	ResultInvalidAVPBits         = 3009
	ResultUnknownPeer            = 3010
	ResultAVPUnsupported         = 5001 // RFC 6733 7.1.5
	ResultInvalidAVPValue        = 5004
	ResultMissingAVP             = 5005
	// ResultAVPNotAllowed: an AVP the command or group does not list, where
	// the ABNF has no "*[ AVP ]".
	ResultAVPNotAllowed         = 5008
	ResultAVPOccursTooManyTimes = 5009
	ResultNoCommonApplication   = 5010
	ResultUnsupportedVersion    = 5011
	ResultUnableToComply        = 5012
	ResultInvalidAVPLength      = 5014
	ResultInvalidMessageLength  = 5015
	ResultNoCommonSecurity      = 5017
)

// ProtocolError is a fault found in a received message that the receiver
// reports with a Result-Code (RFC 6733 7.1) rather than handing the message to
// an application. The frame guard and the dictionary validator return it; the
// connection turns it into an answer (when the message was a request and the
// header could be read) and, when Close is set, closes the connection.
type ProtocolError struct {
	// Code is the Result-Code to answer with. 3xxx codes are protocol
	// errors and their answers carry the E-bit (RFC 6733 7.2); 5xxx are not.
	Code uint32
	// Reason is a sentence a person can act on; it becomes the answer's
	// Error-Message and the log line's reason.
	Reason string
	// FailedAVP holds the offending AVP(s), copied into the answer's
	// Failed-AVP (RFC 6733 7.5). May be empty.
	FailedAVP []*godiam.AVP
	// Header is the header of the offending message when it could be read
	// (nil when fewer than 20 bytes arrived). Without it no answer can be
	// built and the connection is simply closed.
	Header *godiam.Header
	// Close tells the connection to close after answering: the framing can
	// no longer be trusted (RFC 6733 7.1.5 leaves the peer no way to resync).
	Close bool
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("diameter %d: %s", e.Code, e.Reason)
}

// IsProtocolErrorCode reports whether code is in the 3xxx class, whose
// answers carry the E-bit (RFC 6733 7.1.3, 7.2).
func IsProtocolErrorCode(code uint32) bool { return code >= 3000 && code < 4000 }
