package main

import "crypto/tls"

func tlsVersion(v uint16) string { return tls.VersionName(v) }

func cipherName(id uint16) string { return tls.CipherSuiteName(id) }
