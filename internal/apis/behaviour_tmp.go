//go:build !wired

package apis

import "k8s.io/apimachinery/pkg/runtime/schema"

func builtinBehaviour(gk schema.GroupKind) Behaviour { return Behaviour{} }
