package apiserver

import (
	"context"
	"fmt"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/kastle-dev/kastle/internal/aggregator"
	"github.com/kastle-dev/kastle/internal/apis/validation"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/storage"
)

// Field managers of the server's own writes to these objects.
const (
	managerSystemObjects = "kastle-system-objects"
	managerAPF           = "api-priority-and-fairness-config-consumer-v1"
	managerAPIServices   = "kastle-apiservice-controller"
	// automanagedLabel marks the APIServices kube-apiserver keeps itself:
	// "onstart" for built-in group versions (made at start), "true" for
	// those of CRDs (kept in step with them).
	automanagedLabel = "kube-aggregator.kubernetes.io/automanaged"
	// CRD group versions rank below every built-in group.
	crdGroupPriority   = 1000
	crdVersionPriority = 100
	// apiServiceResync is how often the availability of APIServices that
	// name a service is checked again.
	apiServiceResync = 30 * time.Second
)

// builtinAPIPriorities ranks the built-in group versions in discovery, as
// kube-apiserver ranks them (group minimum, version priority).
var builtinAPIPriorities = map[schema.GroupVersion][2]int32{
	{Group: "", Version: "v1"}:                             {18000, 1},
	{Group: "apiregistration.k8s.io", Version: "v1"}:       {18000, 15},
	{Group: "apps", Version: "v1"}:                         {17800, 15},
	{Group: "events.k8s.io", Version: "v1"}:                {17750, 15},
	{Group: "authentication.k8s.io", Version: "v1"}:        {17700, 15},
	{Group: "authorization.k8s.io", Version: "v1"}:         {17600, 15},
	{Group: "autoscaling", Version: "v1"}:                  {17500, 15},
	{Group: "autoscaling", Version: "v2"}:                  {17500, 30},
	{Group: "batch", Version: "v1"}:                        {17400, 15},
	{Group: "certificates.k8s.io", Version: "v1"}:          {17300, 15},
	{Group: "networking.k8s.io", Version: "v1"}:            {17200, 15},
	{Group: "policy", Version: "v1"}:                       {17100, 15},
	{Group: "rbac.authorization.k8s.io", Version: "v1"}:    {17000, 15},
	{Group: "storage.k8s.io", Version: "v1"}:               {16800, 15},
	{Group: "admissionregistration.k8s.io", Version: "v1"}: {16700, 15},
	{Group: "apiextensions.k8s.io", Version: "v1"}:         {16700, 15},
	{Group: "scheduling.k8s.io", Version: "v1"}:            {16600, 15},
	{Group: "coordination.k8s.io", Version: "v1"}:          {16500, 15},
	{Group: "node.k8s.io", Version: "v1"}:                  {16300, 15},
	{Group: "discovery.k8s.io", Version: "v1"}:             {16200, 15},
	{Group: "flowcontrol.apiserver.k8s.io", Version: "v1"}: {16100, 21},
}

// bootstrapMore creates, idempotently, the objects kube-apiserver makes at
// start beyond the namespaces: the two system priority classes and the
// flow-control configuration (mandatory objects restored when deleted or
// changed, suggested ones created and kept current while their
// autoupdate-spec annotation is "true").
func (s *server) bootstrapMore(ctx context.Context) error {
	ctx = request.WithUser(ctx, systemUser)
	pcs := s.storeOf("scheduling.k8s.io", "priorityclasses")
	for _, pc := range validation.SystemPriorityClasses() {
		if err := s.ensureObject(ctx, pcs, pc, managerSystemObjects, nil); err != nil {
			return fmt.Errorf("priority class %s: %w", pc.Name, err)
		}
	}
	pls := s.storeOf("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations")
	fss := s.storeOf("flowcontrol.apiserver.k8s.io", "flowschemas")
	for _, set := range []struct {
		objs      []kruntime.Object
		store     *registry.Store
		mandatory bool
	}{
		{plObjects(bootstrap.MandatoryPriorityLevelConfigurations), pls, true},
		{plObjects(bootstrap.SuggestedPriorityLevelConfigurations), pls, false},
		{fsObjects(bootstrap.MandatoryFlowSchemas), fss, true},
		{fsObjects(bootstrap.SuggestedFlowSchemas), fss, false},
	} {
		for _, obj := range set.objs {
			mandatory := set.mandatory
			if err := s.ensureObject(ctx, set.store, obj, managerAPF, func(cur kruntime.Object) (kruntime.Object, bool) {
				return reconcileFlowSpec(cur, obj, mandatory)
			}); err != nil {
				return fmt.Errorf("flow-control object %T: %w", obj, err)
			}
		}
	}
	return nil
}

func plObjects(in []*flowcontrolv1.PriorityLevelConfiguration) []kruntime.Object {
	out := make([]kruntime.Object, 0, len(in))
	for _, o := range in {
		out = append(out, o.DeepCopy())
	}
	return out
}

func fsObjects(in []*flowcontrolv1.FlowSchema) []kruntime.Object {
	out := make([]kruntime.Object, 0, len(in))
	for _, o := range in {
		out = append(out, o.DeepCopy())
	}
	return out
}

// reconcileFlowSpec brings an existing flow-control object's spec back to
// the bootstrap one: always for mandatory objects, and for suggested ones
// only while their autoupdate-spec annotation says "true" (an operator
// sets it to "false" to keep their own changes).
func reconcileFlowSpec(cur, want kruntime.Object, mandatory bool) (kruntime.Object, bool) {
	switch c := cur.(type) {
	case *flowcontrolv1.PriorityLevelConfiguration:
		w := want.(*flowcontrolv1.PriorityLevelConfiguration)
		if !mandatory && c.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
			return nil, false
		}
		if mandatory && c.Name == flowcontrolv1.PriorityLevelConfigurationNameExempt && c.Spec.Exempt != nil {
			// exempt's shares may be tuned by operators.
			return nil, false
		}
		if apiequality.Semantic.DeepEqual(c.Spec, w.Spec) {
			return nil, false
		}
		c.Spec = w.Spec
		return c, true
	case *flowcontrolv1.FlowSchema:
		w := want.(*flowcontrolv1.FlowSchema)
		if !mandatory && c.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
			return nil, false
		}
		if apiequality.Semantic.DeepEqual(c.Spec, w.Spec) {
			return nil, false
		}
		c.Spec = w.Spec
		return c, true
	}
	return nil, false
}

// storeOf returns the store of a built-in cluster resource.
func (s *server) storeOf(group, plural string) *registry.Store {
	st, _ := s.stores.Store(mustLookup(s.catalogue, group, "v1", plural))
	return st
}

// ensureObject creates want when absent; when present and reconcile is
// given, it writes what reconcile returns. Admission refusing the write
// (e.g. AlwaysDeny) is logged, not fatal, as for the system namespaces.
func (s *server) ensureObject(ctx context.Context, st *registry.Store, want kruntime.Object, manager string,
	reconcile func(cur kruntime.Object) (kruntime.Object, bool)) error {
	name := want.(metav1.Object).GetName()
	cur, err := st.Get(ctx, "", name, "")
	switch {
	case apierrors.IsNotFound(err):
		obj := st.Resource.New()
		if err := copyInto(want, obj); err != nil {
			return err
		}
		_, err = st.Create(ctx, "", obj, registry.WriteOptions{FieldManager: manager})
	case err == nil && reconcile != nil:
		// Read objects may be the watch cache's own: reconcile a copy.
		if _, changed := reconcile(cur.DeepCopyObject()); !changed {
			return nil
		}
		_, err = st.Update(ctx, "", name, func(cur kruntime.Object) (kruntime.Object, error) {
			if next, changed := reconcile(cur); changed {
				return next, nil
			}
			return cur, nil
		}, registry.WriteOptions{FieldManager: manager})
	}
	switch {
	case err == nil, apierrors.IsAlreadyExists(err), apierrors.IsConflict(err):
		return nil
	case apierrors.IsForbidden(err):
		s.log.Warn("admission refused a system object", "kind", fmt.Sprintf("%T", want), "name", name, "err", err)
		return nil
	}
	return err
}

// copyInto copies want's content into obj, which carries apiVersion and
// kind from the catalogue.
func copyInto(want, obj kruntime.Object) error {
	gvk := obj.GetObjectKind().GroupVersionKind()
	switch o := obj.(type) {
	case *schedulingv1.PriorityClass:
		*o = *want.(*schedulingv1.PriorityClass).DeepCopy()
	case *flowcontrolv1.PriorityLevelConfiguration:
		*o = *want.(*flowcontrolv1.PriorityLevelConfiguration).DeepCopy()
	case *flowcontrolv1.FlowSchema:
		*o = *want.(*flowcontrolv1.FlowSchema).DeepCopy()
	case *apiregistrationv1.APIService:
		*o = *want.(*apiregistrationv1.APIService).DeepCopy()
	default:
		return fmt.Errorf("cannot bootstrap %T", obj)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return nil
}

// startMoreControllers starts the two small controllers that keep status
// the way kube-apiserver keeps it: the FlowSchemas' Dangling condition,
// and the Local APIServices of every served group version (each
// Available=True, reason Local), following CRDs as they come and go.
func (s *server) startMoreControllers(ctx context.Context) {
	ctx = request.WithUser(ctx, systemUser)
	fss := s.storeOf("flowcontrol.apiserver.k8s.io", "flowschemas")
	pls := s.storeOf("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations")
	apf := newKick()
	go s.follow(ctx, fss, apf.kick)
	go s.follow(ctx, pls, apf.kick)
	go apf.run(ctx, func() { s.syncDangling(ctx, fss, pls) })

	svcs := s.storeOf("apiregistration.k8s.io", "apiservices")
	reg := newKick()
	s.apiServicesKick = reg
	s.catalogue.OnChange(reg.kick)
	go s.follow(ctx, svcs, reg.kick)
	// Services and endpoints of remote APIServices decide where they
	// are reached; a server that stops answering is noticed by the
	// resync (or at once, by a proxied request that fails).
	go s.follow(ctx, s.storeOf("", "services"), reg.kick)
	go s.follow(ctx, s.storeOf("", "endpoints"), reg.kick)
	go s.follow(ctx, s.storeOf("discovery.k8s.io", "endpointslices"), reg.kick)
	go every(ctx, apiServiceResync, reg.kick)
	firstRun := true
	go reg.run(ctx, func() {
		// Built-in APIServices are made by the first run that could
		// list what exists.
		if s.syncAPIServices(ctx, svcs, firstRun) {
			firstRun = false
		}
	})
}

// every calls f every d until ctx ends.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// kick coalesces change notifications into runs of one worker.
type kick chan struct{}

func newKick() kick { k := make(kick, 1); k <- struct{}{}; return k }

func (k kick) kick() {
	select {
	case k <- struct{}{}:
	default:
	}
}

func (k kick) run(ctx context.Context, f func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-k:
			f()
		}
	}
}

// follow calls changed after every event of st until ctx ends, starting
// again from the current state after a watch error.
func (s *server) follow(ctx context.Context, st *registry.Store, changed func()) {
	rv := ""
	for ctx.Err() == nil {
		if rv == "" {
			list, err := st.List(ctx, "", &metav1.ListOptions{})
			if err != nil {
				s.log.Warn("listing", "resource", st.Resource.String(), "err", err)
				sleepCtx(ctx, time.Second)
				continue
			}
			rv = list.(metav1.ListInterface).GetResourceVersion()
			changed()
		}
		w, err := st.Watch(ctx, "", &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			rv = ""
			sleepCtx(ctx, time.Second)
			continue
		}
		for ev := range w.ResultChan() {
			if ev.Type == storage.ErrorEvent {
				rv = ""
				break
			}
			if m, ok := ev.Object.(metav1.Object); ok {
				rv = m.GetResourceVersion()
			}
			if ev.Type != storage.Bookmark {
				changed()
			}
		}
		w.Stop()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// syncDangling sets every FlowSchema's Dangling condition: False when the
// priority level it names exists, True otherwise.
func (s *server) syncDangling(ctx context.Context, fss, pls *registry.Store) {
	plList, err := pls.List(ctx, "", &metav1.ListOptions{})
	if err != nil {
		return
	}
	levels := map[string]bool{}
	for _, pl := range plList.(*flowcontrolv1.PriorityLevelConfigurationList).Items {
		levels[pl.Name] = true
	}
	fsList, err := fss.List(ctx, "", &metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, fs := range fsList.(*flowcontrolv1.FlowSchemaList).Items {
		want := danglingCondition(fs.Spec.PriorityLevelConfiguration.Name, levels)
		if hasFlowCondition(fs.Status.Conditions, want) {
			continue
		}
		_, err := fss.Update(ctx, "", fs.Name, func(cur kruntime.Object) (kruntime.Object, error) {
			o := cur.(*flowcontrolv1.FlowSchema)
			setFlowCondition(o, danglingCondition(o.Spec.PriorityLevelConfiguration.Name, levels))
			return o, nil
		}, registry.WriteOptions{FieldManager: managerAPF, Subresource: "status"})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			s.log.Warn("setting FlowSchema status", "name", fs.Name, "err", err)
		}
	}
}

func danglingCondition(level string, levels map[string]bool) flowcontrolv1.FlowSchemaCondition {
	if levels[level] {
		return flowcontrolv1.FlowSchemaCondition{Type: flowcontrolv1.FlowSchemaConditionDangling, Status: flowcontrolv1.ConditionFalse,
			Reason:  "Found",
			Message: fmt.Sprintf("This FlowSchema references the PriorityLevelConfiguration object named %q and it exists", level)}
	}
	return flowcontrolv1.FlowSchemaCondition{Type: flowcontrolv1.FlowSchemaConditionDangling, Status: flowcontrolv1.ConditionTrue,
		Reason:  "NotFound",
		Message: fmt.Sprintf("This FlowSchema references the PriorityLevelConfiguration object named %q but there is no such object", level)}
}

func hasFlowCondition(conds []flowcontrolv1.FlowSchemaCondition, want flowcontrolv1.FlowSchemaCondition) bool {
	for _, c := range conds {
		if c.Type == want.Type {
			return c.Status == want.Status && c.Reason == want.Reason && c.Message == want.Message
		}
	}
	return false
}

// setFlowCondition replaces the condition of want's type, moving its
// transition time only when the status changes.
func setFlowCondition(fs *flowcontrolv1.FlowSchema, want flowcontrolv1.FlowSchemaCondition) {
	want.LastTransitionTime = metav1.NewTime(time.Now().Truncate(time.Second))
	for i, c := range fs.Status.Conditions {
		if c.Type == want.Type {
			if c.Status == want.Status {
				want.LastTransitionTime = c.LastTransitionTime
			}
			fs.Status.Conditions[i] = want
			return
		}
	}
	fs.Status.Conditions = append(fs.Status.Conditions, want)
}

// localAPIService is the APIService kube-apiserver keeps for a group
// version it serves itself.
func localAPIService(gv schema.GroupVersion, custom bool) *apiregistrationv1.APIService {
	prio, ok := builtinAPIPriorities[gv]
	label := "onstart"
	if custom || !ok {
		prio, label = [2]int32{crdGroupPriority, crdVersionPriority}, "true"
	}
	return &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: gv.Version + "." + gv.Group, Labels: map[string]string{automanagedLabel: label}},
		Spec: apiregistrationv1.APIServiceSpec{Group: gv.Group, Version: gv.Version,
			GroupPriorityMinimum: prio[0], VersionPriority: prio[1]},
	}
}

// syncAPIServices creates the Local APIService of every served group
// version (built-in ones only on the first run: deleting one sticks until
// the next start, as upstream's "onstart" objects), deletes those of CRD
// group versions no longer served, and marks every Local APIService
// Available. It reports false when it could not list the APIServices.
func (s *server) syncAPIServices(ctx context.Context, st *registry.Store, firstRun bool) bool {
	served := map[string]schema.GroupVersion{}
	custom := map[string]bool{}
	for _, r := range s.catalogue.Resources() {
		gv := r.GroupVersion()
		name := gv.Version + "." + gv.Group
		served[name] = gv
		custom[name] = custom[name] || r.Custom
	}
	list, err := st.List(ctx, "", &metav1.ListOptions{})
	if err != nil {
		s.log.Warn("listing APIServices", "err", err)
		return false
	}
	existing := map[string]*apiregistrationv1.APIService{}
	for i := range list.(*apiregistrationv1.APIServiceList).Items {
		a := &list.(*apiregistrationv1.APIServiceList).Items[i]
		existing[a.Name] = a
	}
	for name, gv := range served {
		if _, ok := existing[name]; ok || (!firstRun && !custom[name]) {
			continue
		}
		if err := s.ensureObject(ctx, st, localAPIService(gv, custom[name]), managerAPIServices, nil); err != nil {
			s.log.Warn("creating APIService", "name", name, "err", err)
		}
	}
	for name, a := range existing {
		if _, ok := served[name]; !ok && a.Labels[automanagedLabel] == "true" && a.Spec.Service == nil {
			if _, err := st.Delete(ctx, "", name, &metav1.DeleteOptions{}, false); err != nil && !apierrors.IsNotFound(err) {
				s.log.Warn("deleting APIService", "name", name, "err", err)
			}
		}
	}
	// Routing, availability checks and the servers' discovery documents
	// of remote APIServices.
	var remote map[string]apiregistrationv1.APIServiceCondition
	if s.aggregator != nil {
		remote = s.aggregator.Sync(ctx, list.(*apiregistrationv1.APIServiceList).Items)
	}
	// Status (new objects come back through the watch).
	for _, a := range existing {
		want := availability(a, remote)
		if hasAvailability(a, want) {
			continue
		}
		_, err := st.Update(ctx, "", a.Name, func(cur kruntime.Object) (kruntime.Object, error) {
			o := cur.(*apiregistrationv1.APIService)
			if (o.Spec.Service == nil) != (a.Spec.Service == nil) {
				return o, nil // changed since: the next run decides
			}
			setAvailability(o, availability(o, remote))
			return o, nil
		}, registry.WriteOptions{FieldManager: managerAPIServices, Subresource: "status"})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			s.log.Warn("setting APIService status", "name", a.Name, "err", err)
		}
	}
	return true
}

// availability is the Available condition of an APIService: always True
// for Local ones; for one naming a service, what the aggregator's last
// check found (the check of an APIService created since is pending).
func availability(a *apiregistrationv1.APIService, remote map[string]apiregistrationv1.APIServiceCondition) apiregistrationv1.APIServiceCondition {
	if a.Spec.Service == nil {
		return apiregistrationv1.APIServiceCondition{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionTrue,
			Reason: aggregator.ReasonLocal, Message: "Local APIServices are always available"}
	}
	if c, ok := remote[a.Name]; ok {
		return c
	}
	return apiregistrationv1.APIServiceCondition{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionFalse,
		Reason: aggregator.ReasonFailedDiscoveryCheck, Message: "the availability check has not run yet"}
}

// recheckAPIServices asks the APIService controller to check every
// APIService again soon (a proxied request found its server gone).
func (s *server) recheckAPIServices() { s.apiServicesKick.kick() }

func hasAvailability(a *apiregistrationv1.APIService, want apiregistrationv1.APIServiceCondition) bool {
	for _, c := range a.Status.Conditions {
		if c.Type == want.Type {
			return c.Status == want.Status && c.Reason == want.Reason && c.Message == want.Message
		}
	}
	return false
}

// setAvailability replaces the Available condition, moving its
// transition time only when the status changes.
func setAvailability(a *apiregistrationv1.APIService, want apiregistrationv1.APIServiceCondition) {
	want.LastTransitionTime = metav1.NewTime(time.Now().Truncate(time.Second))
	for i, c := range a.Status.Conditions {
		if c.Type == want.Type {
			if c.Status == want.Status {
				want.LastTransitionTime = c.LastTransitionTime
			}
			a.Status.Conditions[i] = want
			return
		}
	}
	a.Status.Conditions = append(a.Status.Conditions, want)
}
