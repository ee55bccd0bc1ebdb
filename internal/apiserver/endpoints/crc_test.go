package endpoints

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

func TestCRCCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {3, 700}, {700, 3}, {1000, 65536}, {70000, 8193}} {
		a, b := make([]byte, n[0]), make([]byte, n[1])
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		want := crc32.ChecksumIEEE(append(append([]byte{}, a...), b...))
		if got := crcCombine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), crcShift(len(b))); got != want {
			t.Errorf("lengths %v: combined %08x, want %08x", n, got, want)
		}
	}
	// Many pieces, as a list's items.
	var all []byte
	crc := crc32.ChecksumIEEE(nil)
	for range 200 {
		p := make([]byte, r.IntN(900))
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		all = append(all, p...)
		crc = crcCombine(crc, crc32.ChecksumIEEE(p), crcShift(len(p)))
	}
	if want := crc32.ChecksumIEEE(all); crc != want {
		t.Errorf("200 pieces: %08x, want %08x", crc, want)
	}
}
