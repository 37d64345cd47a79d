// Package kubernetes holds the kustomize base, components and example
// overlay for running itsm-connector on Kubernetes, and the test that
// renders them with the kustomize library (what `kubectl kustomize` runs)
// and checks the output against the Kubernetes API types.
package kubernetes

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/itsm-connector/itsm-connector/host/config"
)

// manifests is one rendered kustomization, decoded into the API types.
type manifests struct {
	deployment      *appsv1.Deployment
	services        []*corev1.Service
	serviceAccount  *corev1.ServiceAccount
	configMap       *corev1.ConfigMap
	pdb             *policyv1.PodDisruptionBudget
	serviceMonitors []*monitoringv1.ServiceMonitor
}

// render runs kustomize on dir and decodes every resource strictly: a field
// the API type does not have (a typo, a wrong nesting level) fails, and so
// does a kind this test does not expect.
func render(t *testing.T, dir string) manifests {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	var m manifests
	for _, r := range res.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		gvk := r.GetGvk()
		id := fmt.Sprintf("%s %s/%s", dir, gvk.Kind, r.GetName())
		var obj any
		switch gvk.ApiVersion() + " " + gvk.Kind {
		case "apps/v1 Deployment":
			if m.deployment != nil {
				t.Fatalf("%s: a second Deployment", id)
			}
			m.deployment = &appsv1.Deployment{}
			obj = m.deployment
		case "v1 Service":
			s := &corev1.Service{}
			m.services, obj = append(m.services, s), s
		case "v1 ServiceAccount":
			m.serviceAccount = &corev1.ServiceAccount{}
			obj = m.serviceAccount
		case "v1 ConfigMap":
			m.configMap = &corev1.ConfigMap{}
			obj = m.configMap
		case "policy/v1 PodDisruptionBudget":
			m.pdb = &policyv1.PodDisruptionBudget{}
			obj = m.pdb
		case "monitoring.coreos.com/v1 ServiceMonitor":
			s := &monitoringv1.ServiceMonitor{}
			m.serviceMonitors, obj = append(m.serviceMonitors, s), s
		default:
			t.Fatalf("%s: unexpected kind %s", id, gvk)
		}
		if err := yaml.UnmarshalStrict(y, obj); err != nil {
			t.Fatalf("%s does not match the %s schema: %v", id, gvk, err)
		}
	}
	if m.deployment == nil || m.serviceAccount == nil || m.configMap == nil || m.pdb == nil || len(m.services) != 2 {
		t.Fatalf("%s: want a Deployment, a ServiceAccount, a ConfigMap, a PodDisruptionBudget and two Services", dir)
	}
	return m
}

func TestBase(t *testing.T) {
	m := render(t, "base")
	checkWorkload(t, "base", m)
	if len(m.serviceMonitors) != 0 {
		t.Error("base: the ServiceMonitor is optional and off by default (components/servicemonitor)")
	}
	if *m.deployment.Spec.Replicas < 2 {
		t.Errorf("base: %d replicas; HA needs at least 2", *m.deployment.Spec.Replicas)
	}
	checkConfig(t, "base", m)
}

func TestExampleOverlay(t *testing.T) {
	m := render(t, "overlays/example")
	checkWorkload(t, "overlays/example", m)
	if got := *m.deployment.Spec.Replicas; got != 3 {
		t.Errorf("replicas = %d, want 3", got)
	}
	for _, obj := range []metav1.Object{m.deployment, m.serviceAccount, m.configMap, m.pdb} {
		if obj.GetNamespace() != "itsm" {
			t.Errorf("%s in namespace %q, want itsm", obj.GetName(), obj.GetNamespace())
		}
	}
	c := m.deployment.Spec.Template.Spec.Containers[0]
	if !strings.HasPrefix(c.Image, "registry.example.com/itsm-connector@sha256:") {
		t.Errorf("image = %q, want the overlay's, by digest", c.Image)
	}

	// Workload identity: the pod label and the ServiceAccount's client id.
	if got := m.deployment.Spec.Template.Labels["azure.workload.identity/use"]; got != "true" {
		t.Errorf("pod label azure.workload.identity/use = %q, want \"true\"", got)
	}
	if got := m.serviceAccount.Annotations["azure.workload.identity/client-id"]; got != "11111111-2222-3333-4444-555555555555" {
		t.Errorf("ServiceAccount client-id annotation = %q, want the overlay's", got)
	}

	// The ServiceMonitor scrapes the admin Service's /metrics.
	if len(m.serviceMonitors) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(m.serviceMonitors))
	}
	sm := m.serviceMonitors[0]
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	var scraped []string
	for _, s := range m.services {
		if s.Namespace == sm.Namespace && sel.Matches(labels.Set(s.Labels)) {
			scraped = append(scraped, s.Name)
			if len(sm.Spec.Endpoints) != 1 || !hasServicePort(s, sm.Spec.Endpoints[0].Port) || sm.Spec.Endpoints[0].Path != "/metrics" {
				t.Errorf("ServiceMonitor endpoints %+v do not name /metrics on a port of %s", sm.Spec.Endpoints, s.Name)
			}
		}
	}
	if !slices.Equal(scraped, []string{"itsm-connector-admin"}) {
		t.Errorf("the ServiceMonitor selects %v, want the admin Service only", scraped)
	}
	checkConfig(t, "overlays/example", m)
}

// checkWorkload checks what every rendering must have: probes on the admin
// listener, a restrictive security context, secrets from Secrets, the pod
// name as an environment variable, a PodDisruptionBudget and Services that
// select the pods.
func checkWorkload(t *testing.T, dir string, m manifests) {
	t.Helper()
	d := m.deployment
	pod := d.Spec.Template
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("%s: the Deployment's selector %v does not select its pods %v (%v)", dir, d.Spec.Selector, pod.Labels, err)
	}
	if sel, err := metav1.LabelSelectorAsSelector(m.pdb.Spec.Selector); err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("%s: the PodDisruptionBudget's selector %v does not select the pods %v", dir, m.pdb.Spec.Selector, pod.Labels)
	}
	if m.pdb.Spec.MaxUnavailable == nil && m.pdb.Spec.MinAvailable == nil {
		t.Errorf("%s: the PodDisruptionBudget limits nothing", dir)
	}
	for _, s := range m.services {
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			t.Errorf("%s: Service %s selects %v, not the pods %v", dir, s.Name, s.Spec.Selector, pod.Labels)
		}
	}
	if pod.Spec.ServiceAccountName != m.serviceAccount.Name {
		t.Errorf("%s: the pods run as ServiceAccount %q, not %q", dir, pod.Spec.ServiceAccountName, m.serviceAccount.Name)
	}

	ps := pod.Spec.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser == 0 ||
		ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v: want runAsNonRoot, a non-zero runAsUser and seccomp RuntimeDefault", dir, ps)
	}
	if len(pod.Spec.Containers) != 1 || len(pod.Spec.InitContainers) != 0 {
		t.Fatalf("%s: want one container", dir)
	}
	c := pod.Spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: container securityContext %+v: want a read-only root, no privilege escalation, non-root, all capabilities dropped, seccomp RuntimeDefault", dir, sc)
	}

	// Probes: liveness /healthz and readiness /readyz on the admin port.
	admin := containerPort(c, "admin")
	if admin == 0 || containerPort(c, "webhook") == 0 {
		t.Errorf("%s: container ports %v: want webhook and admin", dir, c.Ports)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}, {"startup", c.StartupProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "admin" {
			t.Errorf("%s: %s probe %+v: want GET %s on port admin", dir, p.name, p.probe, p.path)
		}
	}

	// Writable paths: /tmp (go-plugin's sockets) and the working directory.
	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.MountPath] = vm
	}
	for _, p := range []string{"/tmp", "/var/lib/itsm-connector"} {
		if vm, ok := mounts[p]; !ok || vm.ReadOnly || volume(pod.Spec, vm.Name).EmptyDir == nil {
			t.Errorf("%s: %s must be a writable emptyDir (the root file system is read-only)", dir, p)
		}
	}
	if vm, ok := mounts["/etc/itsm-connector"]; !ok || !vm.ReadOnly || volume(pod.Spec, vm.Name).ConfigMap == nil ||
		volume(pod.Spec, vm.Name).ConfigMap.Name != m.configMap.Name {
		t.Errorf("%s: /etc/itsm-connector must be the ConfigMap %s, read-only", dir, m.configMap.Name)
	}

	// Secrets come from Secrets; POD_NAME from the pod's name.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
		if e.Value != "" && strings.Contains(strings.ToLower(e.Name), "password") {
			t.Errorf("%s: %s is set inline; take it from a Secret", dir, e.Name)
		}
	}
	if e := env["POD_NAME"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("%s: POD_NAME must come from the downward API (metadata.name), got %+v", dir, e)
	}
	for _, name := range []string{"ITSM_POSTGRES_DSN", "ITSM_ADMIN_TOKEN"} {
		if e := env[name]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: %s must come from a Secret (secretKeyRef)", dir, name)
		}
	}
	// Every env() the configuration reads is set in the container.
	for _, name := range envCalls(m.configMap.Data["connector.hcl"]) {
		if _, ok := env[name]; !ok {
			t.Errorf("%s: connector.hcl reads env(%q), which the container does not set", dir, name)
		}
	}
}

var envCall = regexp.MustCompile(`env\("([A-Za-z_][A-Za-z0-9_]*)"\)`)

func envCalls(hcl string) []string {
	var out []string
	for _, m := range envCall.FindAllStringSubmatch(hcl, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkConfig loads the ConfigMap's connector.hcl with the host's own
// loader, the environment set as the Deployment sets it: PostgreSQL, the
// pod name as instance id, and every plugin pinned with the checksum file
// the image ships (here a stand-in directory).
func checkConfig(t *testing.T, dir string, m manifests) {
	t.Helper()
	src, ok := m.configMap.Data["connector.hcl"]
	if !ok {
		t.Fatalf("%s: the ConfigMap has no connector.hcl", dir)
	}
	const imageChecksums = "/usr/local/lib/itsm-connector/checksums/"
	sums := t.TempDir()
	for _, name := range []string{"file", "jira", "rest", "servicenow"} {
		if err := os.WriteFile(filepath.Join(sums, name+".sha256"), []byte(strings.Repeat("ab", 32)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(src, imageChecksums) {
		t.Errorf("%s: connector.hcl does not read the image's checksums from %s", dir, imageChecksums)
	}
	src = strings.ReplaceAll(src, imageChecksums, sums+"/")
	for _, name := range envCalls(src) {
		t.Setenv(name, "value-of-"+strings.ToLower(name))
	}
	t.Setenv("POD_NAME", "itsm-connector-7d9f8b6c5-x2x4q")
	cfg, diags := config.Load([]byte(src), "/etc/itsm-connector/connector.hcl")
	if diags.HasErrors() {
		t.Fatalf("%s: connector.hcl: %s", dir, diags.Error())
	}
	if cfg.Store.Driver != "postgres" || cfg.Store.DSN != "value-of-itsm_postgres_dsn" {
		t.Errorf("%s: store %s with dsn %q; want postgres with dsn = env(\"ITSM_POSTGRES_DSN\")", dir, cfg.Store.Driver, cfg.Store.DSN)
	}
	if cfg.Delivery.InstanceID != "itsm-connector-7d9f8b6c5-x2x4q" {
		t.Errorf("%s: delivery.instance_id = %q; want the pod name (env(\"POD_NAME\"))", dir, cfg.Delivery.InstanceID)
	}
	if cfg.Admin.Token == "" {
		t.Errorf("%s: the admin listener is reachable in the pod network; set admin.token", dir)
	}
	if len(cfg.Plugins) == 0 {
		t.Errorf("%s: no plugin is pinned", dir)
	}
	for _, p := range cfg.Plugins {
		if p.SHA256 != strings.Repeat("ab", 32) {
			t.Errorf("%s: plugin %q pinned to %q, not read from its checksum file", dir, p.Name, p.SHA256)
		}
	}
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func hasServicePort(s *corev1.Service, name string) bool {
	return slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == name })
}

func volume(spec corev1.PodSpec, name string) corev1.VolumeSource {
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v.VolumeSource
		}
	}
	return corev1.VolumeSource{}
}
