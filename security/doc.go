// Package security holds the MTC-IWF's security rules that do not need the
// network: the TLS profile (TS 33.210 clause 6.2) for the Tsp/T8 listeners and
// for dialling peers, the TS 33.310 certificate profile for peers, certificate
// revocation from CRL files, and the binding of a peer's Diameter identity to
// its certificate.
//
// It is a leaf package: it imports nothing of this module and does no I/O
// beyond reading its own configuration files (certificates, keys, CRLs).
//
// Every certificate refusal is a *CertError whose Rule is one of the Rule*
// constants, so that logs and alarms say which rule a peer broke.
package security
