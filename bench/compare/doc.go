// Command compare measures kastle side by side with the upstream anchor
// (kube-apiserver and etcd of a pinned release, built from their Go modules by
// bench/anchor/build.sh and started by bench/anchor/start.sh) on the same
// machine, with the same load generator (bench/loadgen in coldstart mode).
//
// Runs alternate, anchor then kastle, for --rounds rounds (A B A B …), each a
// cold start on empty data: once with JSON and the full scenario set (start
// time and RSS come from these), once with protobuf for get and list. The
// output is the kastle/anchor ratio of every measured figure: throughput,
// server CPU per request (from /proc, the whole process tree: etcd included),
// start time and RSS, each with the spread of the per-round ratios.
//
//	go run ./bench/compare [--rounds 2] [--duration 5s] [--concurrency 1,8,32] [--json-out FILE]
//
// It is not run in CI: the anchor's first build takes 20–40 minutes.
package main
