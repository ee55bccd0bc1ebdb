// Package quota computes what objects consume of a ResourceQuota: object
// counts (count/<resource>[.<group>] and the legacy names such as pods and
// services), pod compute requests and limits, claim storage, and which
// quotas cover an object (scopes and scope selectors). The ResourceQuota
// admission plugin charges a write against it; the resource quota
// controller recomputes status.used from the objects that exist.
package quota
