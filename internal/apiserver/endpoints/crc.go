package endpoints

// CRC-32 (IEEE) of a concatenation from the checksums of its pieces, so
// that a gzip trailer can be made without reading the items again: with
// A and B, crc(A‖B) = crc(A)·x^(8·len(B)) + crc(B) in GF(2)[x] modulo the
// polynomial, the pre- and post-inversion of the checksum cancelling out.
// Polynomials are in the reflected form hash/crc32 uses: bit 31 is x^0.

// crcPoly is the IEEE polynomial, reflected.
const crcPoly = 0xedb88320

// crcMul multiplies a and b modulo crcPoly.
func crcMul(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
		}
		if b&1 != 0 {
			b = b>>1 ^ crcPoly
		} else {
			b >>= 1
		}
	}
	return p
}

// crcX2n holds x^(2^k) modulo crcPoly.
var crcX2n = func() (t [32]uint32) {
	t[0] = 1 << 30 // x^1
	for k := 1; k < len(t); k++ {
		t[k] = crcMul(t[k-1], t[k-1])
	}
	return t
}()

// crcShift returns x^(8·n) modulo crcPoly: what multiplies a checksum
// when n bytes follow the data it covers.
func crcShift(n int) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n > 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = crcMul(crcX2n[k&31], p)
		}
	}
	return p
}

// crcCombine returns the checksum of A‖B from crcA, crcB and B's
// shift, crcShift(len(B)).
func crcCombine(crcA, crcB, shiftB uint32) uint32 {
	return crcMul(shiftB, crcA) ^ crcB
}
