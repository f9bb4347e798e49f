//go:build race

package policy

// raceEnabled: the race detector slows the 100,000-rule tests tenfold.
const raceEnabled = true
