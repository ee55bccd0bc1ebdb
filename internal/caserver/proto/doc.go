// Package capb holds the gRPC messages and service of the kastle CA
// service, generated from ca.proto with Debian's protoc (3.21),
// protoc-gen-go (1.28) and protoc-gen-go-grpc (1.33). Regenerate with
// `go generate` after editing ca.proto; the generated files are committed
// so that building needs no protoc.
package capb

//go:generate protoc -I . -I /usr/include --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative ca.proto
