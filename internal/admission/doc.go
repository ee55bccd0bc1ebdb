// Package admission holds the admission chain: plugins that see every
// write after decoding and may mutate it (Admit) or reject it (Validate).
// Mutating plugins run before validating ones, in the order configured.
package admission
