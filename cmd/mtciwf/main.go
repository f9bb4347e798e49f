// Command mtciwf is the MTC-IWF Diameter security gateway daemon (TS 23.682): it terminates Tsp
// (Diameter over TLS) from SCSs and relays device triggers to the core. Run "mtciwf help".
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
