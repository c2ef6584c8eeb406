// Package signal generates the time-domain signals sigop works on: the
// original article's three-tone device signals (Generator), its Linspace
// helper, and reproducible noise (Noise) that Go and Python produce bit for
// bit alike, for shared test vectors.
package signal
