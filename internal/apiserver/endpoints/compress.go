package endpoints

import (
	"bufio"
	"strconv"
	"strings"
	"sync"

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

// writeGzip sends parts, in order, as one gzip-compressed body. BestSpeed,
// as kube-apiserver's level 1: a list compresses about 15 times (the
// items repeat their keys), and the fewer bytes cost less to encrypt and
// frame than the compression itself.
func (q *req) writeGzip(code int, ct string, parts [][]byte) {
	h := q.w.Header()
	h.Set("Content-Encoding", "gzip")
	h.Add("Vary", "Accept-Encoding")
	h.Del("Content-Length")
	q.writeHeader(code, ct)
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
