package endpoints

import "testing"

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept string
		list   bool
		want   Output
		ok     bool
	}{
		{"", false, Output{Media: mediaJSON}, true},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", true, Output{Media: mediaJSON, As: "Table", Version: "v1"}, true},
		{"application/vnd.kubernetes.protobuf,application/json", false, Output{Media: mediaProtobuf}, true},
		{"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json", true, Output{Media: mediaJSON, As: "PartialObjectMetadataList", Version: "v1"}, true},
		{"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json", false, Output{Media: mediaJSON}, true},
		{"application/json;as=Foo;g=meta.k8s.io;v=v1", false, Output{}, false},
		{"text/html", false, Output{}, false},
		{"application/yaml", false, Output{Media: mediaYAML}, true},
		{"*/*", false, Output{Media: mediaJSON}, true},
		{"application/json, */*", false, Output{Media: mediaJSON}, true},
	}
	for _, tt := range tests {
		got, ok := negotiate(tt.accept, tt.list)
		if ok != tt.ok || got != tt.want {
			t.Errorf("negotiate(%q, %v) = %+v, %v; want %+v, %v", tt.accept, tt.list, got, ok, tt.want, tt.ok)
		}
	}
}
