package policy

import (
	"strconv"

	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/security"
)

// Audit writes a refusal (from Decide or Limiter.Allow) to log, the audit
// stream (the daemon passes a logger named "audit"): the SCS, the action,
// the rule that decided (and its file:line), the Request-Status and the
// reason, with the UE identity masked (security.MaskExternalID,
// MaskMSISDN). An allowed decision writes nothing.
func Audit(log *zap.Logger, q Query, d Decision) {
	if d.Allowed || log == nil {
		return
	}
	fields := make([]zap.Field, 0, 12)
	fields = append(fields,
		zap.String("scs", d.SCS),
		zap.String("origin_host", q.SCS),
	)
	if q.Via != "" {
		fields = append(fields, zap.String("via", q.Via))
	}
	fields = append(fields,
		zap.Stringer("action", q.Action),
		zap.String("rule", d.Rule),
	)
	if d.Line > 0 {
		fields = append(fields, zap.String("rule_at", d.File+":"+strconv.Itoa(d.Line)))
	}
	fields = append(fields,
		zap.Stringer("code", d.Code),
		zap.Uint32("request_status", d.Code.RequestStatus()),
		zap.String("reason", d.Reason),
	)
	if q.ExternalID != "" {
		fields = append(fields, zap.String("external_id", security.MaskExternalID(q.ExternalID)))
	}
	if q.MSISDN != "" {
		fields = append(fields, zap.String("msisdn", security.MaskMSISDN(q.MSISDN)))
	}
	if q.HasPort {
		fields = append(fields, zap.Uint32("port", q.Port))
	}
	log.Warn("request refused", fields...)
}
