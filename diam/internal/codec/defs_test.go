package codec

import (
	"strings"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/dictionaries"
)

// Every Def matches its dictionary definition: name, code, Vendor-Id, type,
// and the M bit set exactly when the definition says "must M".
func TestDefsMatchDictionaries(t *testing.T) {
	parsers := map[string]struct {
		load func() (*dict.Parser, error)
		app  uint32
	}{
		"base": {dictionaries.Base, 0},
		"tsp":  {dictionaries.Tsp, dictionaries.AppTsp},
		"s6m":  {dictionaries.S6m, dictionaries.AppS6m},
		"t4":   {dictionaries.T4, dictionaries.AppT4},
	}
	seen := map[string]bool{}
	for file, defs := range Defs {
		p, err := parsers[file].load()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range defs {
			if seen[d.Name] {
				t.Errorf("%s listed twice", d.Name)
			}
			seen[d.Name] = true
			got, err := p.FindAVPByCode(parsers[file].app, d.Code, d.Vendor)
			if err != nil || got == nil || got.Code != d.Code || got.VendorID != d.Vendor {
				t.Errorf("%s (%d, vendor %d) not in %s.xml: %v", d.Name, d.Code, d.Vendor, file, err)
				continue
			}
			if got.Name != d.Name {
				t.Errorf("code %d is %s in the dictionary, %s here", d.Code, got.Name, d.Name)
			}
			if got.Data.Type != d.Type {
				t.Errorf("%s is %s in the dictionary, type %d here", d.Name, got.Data.TypeName, d.Type)
			}
			wantM := strings.Contains(got.Must, "M")
			if hasM := d.Flags&avp.Mbit != 0; hasM != wantM {
				t.Errorf("%s: M bit %v here, dictionary must=%q", d.Name, hasM, got.Must)
			}
			if hasV := d.Flags&avp.Vbit != 0; hasV != (d.Vendor != 0) {
				t.Errorf("%s: V bit %v with Vendor-Id %d", d.Name, hasV, d.Vendor)
			}
		}
	}
}
