package apis

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

// Serializers holds the wire and storage serializers of one scheme.
type Serializers struct {
	Scheme *runtime.Scheme
	JSON   *json.Serializer
	// StrictJSON reports unknown and duplicate fields (fieldValidation).
	StrictJSON *json.Serializer
	YAML       *json.Serializer
	StrictYAML *json.Serializer
	Pretty     *json.Serializer
	Protobuf   *protobuf.Serializer
	// Params decodes query strings into metav1 options.
	Params runtime.ParameterCodec
}

// NewSerializers builds the serializers for scheme.
func NewSerializers(scheme *runtime.Scheme) *Serializers {
	mf := json.DefaultMetaFactory
	return &Serializers{
		Scheme:     scheme,
		JSON:       json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{}),
		StrictJSON: json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Strict: true}),
		YAML:       json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Yaml: true}),
		StrictYAML: json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true}),
		Pretty:     json.NewSerializerWithOptions(mf, scheme, scheme, json.SerializerOptions{Pretty: true}),
		Protobuf:   protobuf.NewSerializer(scheme, scheme),
		Params:     runtime.NewParameterCodec(scheme),
	}
}

// StorageCodec returns how r's objects are kept in etcd: protobuf for
// built-in types (compact and fast to decode), JSON for custom resources.
func (s *Serializers) StorageCodec(r *Resource) StorageCodec {
	if r.StorageCodec == "protobuf" {
		return StorageCodec{res: r, enc: s.Protobuf, dec: s.Protobuf}
	}
	return StorageCodec{res: r, enc: unstructured.UnstructuredJSONScheme, dec: unstructured.UnstructuredJSONScheme}
}

// StorageCodec implements storage.Codec for one resource.
type StorageCodec struct {
	res *Resource
	enc runtime.Encoder
	dec runtime.Decoder
}

// Encode serialises obj without its resourceVersion (etcd's ModRevision
// is the resourceVersion).
func (c StorageCodec) Encode(obj runtime.Object) ([]byte, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	if rv := acc.GetResourceVersion(); rv != "" {
		acc.SetResourceVersion("")
		defer acc.SetResourceVersion(rv)
	}
	obj.GetObjectKind().SetGroupVersionKind(c.res.GVK())
	var buf bytes.Buffer
	if err := c.enc.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode reads a stored object into a new object of the resource's kind,
// with apiVersion and kind set.
func (c StorageCodec) Decode(data []byte) (runtime.Object, error) {
	var into runtime.Object
	if c.res.Custom {
		into = &unstructured.Unstructured{}
	} else {
		into = c.res.New()
	}
	obj, _, err := c.dec.Decode(data, nil, into)
	if err != nil {
		return nil, fmt.Errorf("decoding stored %s: %w", c.res.Kind, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(c.res.GVK())
	if c.res.Default != nil {
		c.res.Default(obj)
	}
	return obj, nil
}
