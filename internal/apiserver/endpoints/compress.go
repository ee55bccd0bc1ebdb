package endpoints

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// gzipThreshold is the body size above which a response is compressed for
// a client that accepts gzip: kube-apiserver's (APIResponseCompression, on
// by default) 128 KiB, below which compressing costs more than it saves.
const gzipThreshold = 128 << 10

// acceptsGzip reports whether an Accept-Encoding header allows gzip: the
// token is listed without a zero quality. Go clients (client-go, kubectl)
// send "gzip" by themselves and decompress transparently; curl only with
// --compressed.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || q <= 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// compresses reports whether a body of size bytes goes out gzipped.
func (q *req) compresses(size int) bool {
	return size > gzipThreshold && acceptsGzip(q.r.Header.Get("Accept-Encoding"))
}

// writeGzip sends parts, in order, as one gzip-compressed body: BestSpeed,
// as kube-apiserver's level 1 (a list compresses 10 to 15 times; its items
// repeat their keys). Lists whose items keep compressed forms take
// writeGzipList instead.
func (q *req) writeGzip(code int, ct string, parts [][]byte) {
	q.writeGzipHeader(code, ct)
	bw := chunkWriters.Get().(*bufio.Writer)
	bw.Reset(q.w)
	zw := gzipWriters.Get().(*gzipWriter)
	zw.z.Reset(bw)
	zw.in.Reset(zw.z)
	// The parts (a list's items and commas) reach the compressor in 64 KiB
	// pieces: per call, its checksum and block logic cost more than
	// copying a small part once.
	for _, p := range parts {
		if _, err := zw.in.Write(p); err != nil {
			break // the client went away
		}
	}
	if zw.in.Flush() == nil && zw.z.Close() == nil {
		_ = bw.Flush()
	}
	zw.in.Reset(nil)
	zw.z.Reset(nil)
	gzipWriters.Put(zw)
	bw.Reset(nil)
	chunkWriters.Put(bw)
}

// gzipWriter is a compressor with the buffer that feeds it.
type gzipWriter struct {
	z  *gzip.Writer
	in *bufio.Writer
}

// gzipWriters keep their compressor state (~0.8 MB at BestSpeed) between
// responses.
var gzipWriters = sync.Pool{New: func() any {
	zw, err := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	if err != nil {
		panic(err) // BestSpeed is a valid level
	}
	return &gzipWriter{z: zw, in: bufio.NewWriterSize(nil, 64<<10)}
}}

// Item by item: a list's items compressed one by one and kept with their
// other cached forms, so that a list of unchanged objects is compressed
// by copying. Each item's form is a byte-aligned run of deflate blocks
// (klauspost's stateless deflate) whose back-references may reach into
// the item before it (up to 8 KiB), which makes the compression nearly
// as good as compressing the whole body (the items of a list repeat each
// other's keys) but ties the form to that predecessor: it is kept per
// predecessor version (storage.Encodings.Linked) and rebuilt when the
// neighbour changes.

// The linked slots of a list item's compressed form.
const (
	linkJSONItem = iota
	linkProtobufItem
)

// maxUnitBuilds bounds how many items one response compresses one by one
// when their forms are missing: building one (~8 µs for a 1 KiB item)
// costs far more than its share of a whole-body compression, so a list
// with more missing is compressed as a whole (and builds this many for
// the next request).
const maxUnitBuilds = 64

// gzipHeader is a gzip member header: deflate, no name, no time, unknown
// system.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// writeGzipList sends a list body gzipped from its items' kept
// compressed forms, building the few that are missing; false (nothing
// written) when too many are missing, for the caller to compress the
// body as a whole. Forms are kept only when body.keep (lists without
// selectors): a filtered list gives items other neighbours, and keeping
// forms for those would replace the ones every full list uses.
func (q *req) writeGzipList(code int, ct string, body *chunks) bool {
	us := body.units
	if len(us) < 2 {
		return false
	}
	keep := body.keep
	build := func(i int) ([]byte, error) {
		compress := func() ([]byte, error) { return compressUnit(body.parts[us[i].start:us[i].end], body.item(us[i-1])) }
		if !keep {
			return compress()
		}
		return us[i].enc.Linked(body.link, us[i-1].enc, compress)
	}
	forms := make([][]byte, len(us))
	var missing []int
	for i := 1; i < len(us); i++ {
		if forms[i] = us[i].enc.LinkedKept(body.link, us[i-1].enc); forms[i] == nil {
			missing = append(missing, i)
		}
	}
	if len(missing) > maxUnitBuilds {
		if keep {
			for _, i := range missing[:maxUnitBuilds] {
				// A form not kept (the encodings budget is spent) would
				// be built again by every request: stop warming.
				if _, err := build(i); err != nil || us[i].enc.LinkedKept(body.link, us[i-1].enc) == nil {
					break
				}
			}
		}
		return false
	}
	for _, i := range missing {
		f, err := build(i)
		if err != nil {
			return false
		}
		forms[i] = f
	}
	itemByItem.Add(1)

	zb := gzipBufs.Get().(*bytes.Buffer)
	defer func() {
		if zb.Cap() <= 4<<20 {
			zb.Reset()
			gzipBufs.Put(zb)
		}
	}()
	zb.Reset()
	zb.Write(gzipHeader)
	// The head and the first item, then every other item's form, then
	// the tail with the last block.
	first := joinParts(body.parts[:us[0].end])
	crc := crc32.ChecksumIEEE(first)
	if flate.StatelessDeflate(zb, first, false, nil) != nil {
		return false
	}
	for _, f := range forms[1:] {
		crc = crcCombine(crc, binary.LittleEndian.Uint32(f), binary.LittleEndian.Uint32(f[4:]))
		zb.Write(f[8:])
	}
	tail := joinParts(body.parts[us[len(us)-1].end:])
	crc = crc32.Update(crc, crc32.IEEETable, tail)
	if flate.StatelessDeflate(zb, tail, true, body.item(us[len(us)-1])) != nil {
		return false
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:], crc)
	binary.LittleEndian.PutUint32(trailer[4:], uint32(body.size)) // ISIZE is the size modulo 2^32
	zb.Write(trailer[:])

	q.writeGzipHeader(code, ct)
	_, _ = q.w.Write(zb.Bytes())
	return true
}

// writeGzipHeader sends the header of a gzip-compressed body.
func (q *req) writeGzipHeader(code int, ct string) {
	h := q.w.Header()
	h.Set("Content-Encoding", "gzip")
	h.Add("Vary", "Accept-Encoding")
	h.Del("Content-Length")
	q.writeHeader(code, ct)
}

// compressUnit is the kept form of one list item with what precedes it
// in the body (parts): its CRC-32, the CRC shift of its length, then its
// deflate blocks, compressed with prev (the item before it) as history.
func compressUnit(parts [][]byte, prev []byte) ([]byte, error) {
	unitBuilds.Add(1)
	raw := joinParts(parts)
	var b bytes.Buffer
	b.Grow(8 + len(raw)/2)
	b.Write(make([]byte, 8))
	if err := flate.StatelessDeflate(&b, raw, false, prev); err != nil {
		return nil, err
	}
	out := bytes.Clone(b.Bytes()) // exact size: it is kept
	binary.LittleEndian.PutUint32(out, crc32.ChecksumIEEE(raw))
	binary.LittleEndian.PutUint32(out[4:], crcShift(len(raw)))
	return out, nil
}

// joinParts returns parts as one slice (the only part itself when there
// is one).
func joinParts(parts [][]byte) []byte {
	if len(parts) == 1 {
		return parts[0]
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// itemByItem counts lists sent gzipped item by item, unitBuilds the item
// forms compressed: what the tests look at to see which way a list went.
var itemByItem, unitBuilds atomic.Int64

// gzipBufs hold assembled compressed lists.
var gzipBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}
