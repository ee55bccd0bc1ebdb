// Package encryption encrypts values at rest in etcd as kube-apiserver
// does with --encryption-provider-config.
//
// ParseConfig or LoadConfig read an apiserver.config.k8s.io/v1
// EncryptionConfiguration; New builds from it a Transformers whose
// ForResource returns the Transformer for one group/resource (identity
// when the resource is not configured). Stored values keep Kubernetes'
// format, "k8s:enc:<provider>:v1:<key name>:" followed by the ciphertext,
// so an etcd written by kube-apiserver can be read and the other way
// round. The first provider of a resource encrypts new writes; every
// listed provider can read. A read reports stale when the value was not
// written by the first provider and key, so rewriting every stale object
// completes a key rotation.
//
// aesgcm and secretbox are authenticated; aesgcm also binds the value to
// its etcd key (the dataCtx argument) as additional data, so a value
// copied under another key fails to decrypt. aescbc is kept for
// compatibility only: it is not authenticated.
//
// The storage layer plugs a Transformer in between its codec and etcd:
// TransformToStorage(ctx, codec.Encode(obj), key) before a put, and
// TransformFromStorage(ctx, kv.Value, string(kv.Key)) before
// codec.Decode. storage.Codec cannot be wrapped directly because Decode
// does not know the key the value was read from.
package encryption
