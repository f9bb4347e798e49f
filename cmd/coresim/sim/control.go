package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

const controlHelp = `coresim control endpoint
GET    /counters                  counters as JSON
POST   /counters/reset            set every counter to 0
GET    /inject                    active injections as JSON
POST   /inject?target=T&...       add one: target=hss|smsc|delivery,
                                  result=CODE|drop, delay=DURATION,
                                  outcome=successful|absent|memory|expired,
                                  count=N (0: until cleared; default 0)
DELETE /inject[?target=T]         clear the injections of T (all without T)
`

// ControlHandler is the HTTP control endpoint (also served on
// Config.ControlListen): counters and failure injection at run time.
func (s *Sim) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, controlHelp)
	})
	mux.HandleFunc("GET /counters", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Counters())
	})
	mux.HandleFunc("POST /counters/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetCounters()
		writeJSON(w, http.StatusOK, s.Counters())
	})
	mux.HandleFunc("GET /inject", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Injections())
	})
	mux.HandleFunc("POST /inject", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		kv := map[string]string{}
		for k, vs := range r.Form {
			if len(vs) != 1 {
				httpError(w, http.StatusBadRequest, fmt.Errorf("parameter %q given %d times", k, len(vs)))
				return
			}
			kv[k] = vs[0]
		}
		in, err := ParseInjection(kv)
		if err == nil {
			err = s.Inject(in)
		}
		if err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Injections())
	})
	mux.HandleFunc("DELETE /inject", func(w http.ResponseWriter, r *http.Request) {
		t := Target(strings.ToLower(r.URL.Query().Get("target")))
		switch t {
		case "", TargetHSS, TargetSMSC, TargetDelivery:
		default:
			httpError(w, http.StatusBadRequest, fmt.Errorf("target %q is not hss, smsc or delivery", t))
			return
		}
		s.ClearInjections(t)
		writeJSON(w, http.StatusOK, s.Injections())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func httpError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
