package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any bytes give a File or errors, never a panic, and a File
// that parses either compiles or reports errors; a compiled policy decides
// without panicking.
func FuzzParse(f *testing.F) {
	f.Add([]byte(testPolicy))
	if b, err := os.ReadFile(filepath.Join("..", "..", "configs", "policy.yaml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("scs: [{id: a, peers: [{origin_host: a.b, realm: b}], scs_identity: \"1\", rules: [{allow: {msisdn_range: [\"1\", \"9\"]}, ports: [\"1-2\"]}]}]\n"))
	f.Add([]byte("groups: {g: [&x {msisdn: \"1\"}, *x]}\nscs: []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data)
		if err != nil || file == nil {
			return
		}
		p, err := Compile(file)
		if err != nil {
			return
		}
		for _, e := range file.SCS {
			for _, pe := range e.Peers {
				for _, m := range []string{"1", "491710000001", "", "x"} {
					p.Decide(Query{SCS: pe.OriginHost, Action: Trigger, MSISDN: m, ExternalID: "a@b.c", Port: 1, HasPort: true})
				}
			}
		}
	})
}
