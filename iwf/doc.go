// Package iwf holds the MTC-IWF procedures: device trigger (trigger.go),
// replace and recall (replace.go), delivery reports (deliveryreport.go) and
// their durable outbox (report.go), on top of the trigger store (store*.go).
// Each procedure reads top to bottom like the numbered request path in
// DESIGN.md; the only types it handles are the typed messages of diam/tsp,
// diam/s6m and diam/t4.
package iwf
