package endpoints

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apiserver/status"
	"github.com/kastle-dev/kastle/internal/storage"
)

// watch streams events as kube-apiserver does: newline-delimited JSON
// {"type","object"} frames, or length-prefixed protobuf WatchEvents, each
// flushed as it happens.
func (q *req) watch() error {
	var opts metav1.ListOptions
	if err := q.decodeQuery(q.r.URL.Query(), &opts); err != nil {
		return err
	}
	out, ok := negotiate(q.r.Header.Get("Accept"), false)
	if ok && out.Media == mediaProtobuf && q.res.Custom {
		out, ok = negotiate(withoutProtobuf(q.r.Header.Get("Accept")), false)
	}
	if !ok || out.Media == mediaYAML {
		out = Output{Media: mediaJSON, As: out.As}
	}
	if out.As != "" && out.As != "Table" && out.As != "PartialObjectMetadata" {
		out.As = ""
	}
	timeout := q.h.MinRequestTimeout + time.Duration(rand.Int64N(int64(q.h.MinRequestTimeout)+1))
	if opts.TimeoutSeconds != nil {
		if *opts.TimeoutSeconds < 0 {
			return apierrors.NewBadRequest("timeoutSeconds must not be negative")
		}
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	w, err := q.store.Watch(q.ctx(), q.ns, &opts)
	if err != nil {
		return err
	}
	defer w.Stop()
	q.h.Watches.WatchStarted()
	defer q.h.Watches.WatchEnded()
	flusher, ok := q.w.(http.Flusher)
	if !ok {
		return apierrors.NewInternalError(fmt.Errorf("streaming is not supported"))
	}
	ct := mediaJSON
	if out.Media == mediaProtobuf {
		ct = mediaProtobuf + ";stream=watch"
	}
	h := q.w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-cache, private")
	q.w.WriteHeader(http.StatusOK)
	flusher.Flush()

	// Headers are out: from here on the stream just ends (nil), it
	// cannot turn into an error response.
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var buf bytes.Buffer
	for {
		select {
		case <-q.r.Context().Done():
			return nil
		case <-q.h.Done:
			return nil
		case <-timer.C:
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			frame, err := q.frame(&buf, ev, out)
			if err != nil {
				q.h.Log.Warn("encoding watch event", "resource", q.res.String(), "err", err)
				return nil
			}
			if _, err := q.w.Write(frame); err != nil {
				return nil
			}
			if len(w.ResultChan()) == 0 {
				flusher.Flush()
			}
		}
	}
}

// frame returns the wire frame of ev. Plain object events are shared
// through the handler's cache; tables, bookmarks and errors are per watch.
func (q *req) frame(buf *bytes.Buffer, ev storage.Event, out Output) ([]byte, error) {
	if out.As == "" && (ev.Type == storage.Added || ev.Type == storage.Modified || ev.Type == storage.Deleted) {
		return q.h.encoded.get(encodeKey{obj: ev.Object, typ: string(ev.Type), media: out.Media}, func() ([]byte, error) {
			var b bytes.Buffer
			if err := q.encodeEvent(&b, ev, out); err != nil {
				return nil, err
			}
			return b.Bytes(), nil
		})
	}
	buf.Reset()
	if err := q.encodeEvent(buf, ev, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeEvent writes one watch frame for ev to buf.
func (q *req) encodeEvent(buf *bytes.Buffer, ev storage.Event, out Output) error {
	var obj runtime.Object
	typ := string(ev.Type)
	switch ev.Type {
	case storage.ErrorEvent:
		st := status.FromError(toWatchError(ev.Err))
		obj = st
	default:
		obj = ev.Object
		if out.As == "Table" && ev.Type != storage.Bookmark {
			t, err := q.table(obj, false)
			if err != nil {
				return err
			}
			obj = t
		}
		if out.As == "PartialObjectMetadata" {
			// Metadata informers (the garbage collector's) decode
			// nothing else, bookmarks included.
			pm, err := partialMetadata(obj, false, out.Version)
			if err != nil {
				return err
			}
			obj = pm
		}
	}
	if out.Media == mediaProtobuf {
		var raw bytes.Buffer
		if err := q.h.Ser.Protobuf.Encode(obj, &raw); err != nil {
			return err
		}
		we := &metav1.WatchEvent{Type: typ, Object: runtime.RawExtension{Raw: raw.Bytes()}}
		frame, err := we.Marshal()
		if err != nil {
			return err
		}
		// The protobuf stream is length-prefixed raw WatchEvent messages.
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(frame)))
		buf.Write(n[:])
		buf.Write(frame)
		return nil
	}
	buf.WriteString(`{"type":"`)
	buf.WriteString(typ)
	buf.WriteString(`","object":`)
	if err := q.h.Ser.JSON.Encode(obj, buf); err != nil {
		return err
	}
	// The JSON encoder ends with a newline; the frame closes after it.
	b := buf.Bytes()
	if len(b) > 0 && b[len(b)-1] == '\n' {
		buf.Truncate(len(b) - 1)
	}
	buf.WriteString("}\n")
	return nil
}

// toWatchError maps a storage error in a watch to its API error: an
// expired resourceVersion is 410 Gone (reason Expired).
func toWatchError(err error) error {
	if err == nil {
		return apierrors.NewInternalError(fmt.Errorf("watch failed"))
	}
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	if storage.CodeOf(err) == storage.ErrCodeResourceVersionTooOld {
		return apierrors.NewResourceExpired(err.Error())
	}
	return apierrors.NewInternalError(err)
}
