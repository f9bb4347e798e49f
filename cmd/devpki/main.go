// Command devpki writes a throwaway dev PKI (root CA, peer certificates, an
// empty CRL) for running mtciwf and its simulators locally. It keeps an
// existing complete, unexpired set unless -force is given.
//
//	devpki [-dir dev/pki] [-force]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mtciwf/mtciwf/configs/devpki"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it parses args, writes the PKI and
// reports to stdout; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devpki", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "dev/pki", "directory to write the dev PKI into")
	force := fs.Bool("force", false, "regenerate even if a complete, unexpired set exists")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "devpki: unexpected arguments %q\n", fs.Args())
		return 2
	}
	res, err := devpki.Write(*dir, devpki.WriteOptions{Force: *force})
	if err != nil {
		fmt.Fprintf(stderr, "devpki: %v\n", err)
		return 1
	}
	switch {
	case res.Kept && res.CRLRefreshed:
		fmt.Fprintf(stdout, "devpki: kept the existing set in %s; refreshed the CRL (%s)\n", res.Dir, res.Reason)
	case res.Kept:
		fmt.Fprintf(stdout, "devpki: %s already holds a complete, unexpired set; kept it (use -force to regenerate)\n", res.Dir)
	default:
		fmt.Fprintf(stdout, "devpki: wrote a new set into %s (%s)\n", res.Dir, res.Reason)
	}
	for _, f := range res.Written {
		fmt.Fprintf(stdout, "  wrote %s\n", f)
	}
	return 0
}
