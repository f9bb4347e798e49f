// Command coresim simulates the operator core an MTC-IWF talks to: an HSS on
// S6m (SIR/SIA) and an SMS-SC on T4 (DTR/DTA, DRR/DRA), driven by a
// subscriber file, with failure injection and counters on a local HTTP
// control endpoint. It works against any MTC-IWF. Run "coresim --help".
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
