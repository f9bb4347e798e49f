// Package policy is the MTC-IWF's authorization policy (DESIGN.md step 5,
// "Authorize"): which SCS may send which request for which UE and which
// service, within which limits, at which rate and quota.
//
// The operator writes a YAML file (configs/policy.yaml is the commented
// example). Load reads it, Parse turns it into a File (every problem
// reported as an *Error, "file:line: key: what is wrong", all of them, not
// just the first) and Compile turns a File into an immutable *Policy whose
// Decide answers in well under a microsecond with 100,000 UE rules and does
// not allocate when it allows.
//
// A request is judged in this order, the first refusal deciding:
//
//  1. the SCS (its Origin-Host, and the agent that carried it) has an entry;
//  2. the request's SCS-Identity is the entry's (else 103 INVSCSID);
//  3. payload size (101), validity (104), priority (105);
//  4. the UE × service rules: deny rules win over allow rules, and with no
//     allow rule covering the UE, port and action the request is refused
//     (default deny, 105);
//  5. Limiter: the SCS's token bucket (109), then each quota window (108),
//     smallest window first. Only a request Decide allowed reaches the
//     Limiter, so a refused request spends neither.
//
// Decide is pure; Audit writes a refusal to the audit log with the UE
// identity masked. Watcher keeps the current Policy behind an atomic pointer
// and reloads it on Reload (the daemon's SIGHUP) or when the file changes;
// an invalid file keeps the previous policy in force.
//
// What the package does not do: it sends nothing, it disconnects nothing
// (OnChange and RemovedPeers tell the daemon which peers lost their entry),
// and it keeps quota counts in a QuotaStore the daemon provides (the
// durable store of iwf); MemoryQuotaStore is for tests.
package policy
