package helm_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestDefaults renders the chart with its default values: a Deployment of
// two consumers with probes on the pod-reachable metrics port, a Service for
// it and a ServiceAccount, and nothing optional.
func TestDefaults(t *testing.T) {
	t.Parallel()
	r := render(t, nil)
	r.decodeAll(t)
	want := []string{"Deployment/" + fullname, "Service/" + fullname, "ServiceAccount/" + fullname}
	if got := r.keys(); !slices.Equal(got, want) {
		t.Errorf("rendered %v, want %v", got, want)
	}
	d, c := r.deployment(t)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
	}
	checkPod(t, r)
	e := env(t, c)
	if e["TRIPLINE_DRY_RUN"] != "true" {
		t.Errorf("TRIPLINE_DRY_RUN = %q: a first install should not suspend anybody", e["TRIPLINE_DRY_RUN"])
	}
	if len(d.Spec.Template.Spec.Volumes) != 0 || len(c.VolumeMounts) != 0 {
		t.Errorf("volumes %v, mounts %v: by default the rules are the image's and there is no secret", d.Spec.Template.Spec.Volumes, c.VolumeMounts)
	}
	if c.Image != "ghcr.io/tripline-dev/tripline:"+loadChart(t).Metadata.AppVersion {
		t.Errorf("image %q, want the chart's appVersion", c.Image)
	}
	for _, warn := range []string{"config.TRIPLINE_KAFKA_TOPICS", "op-client-secret", "DRY RUN", "EXAMPLE protected.yaml"} {
		if !strings.Contains(r.notes, warn) {
			t.Errorf("NOTES do not mention %q:\n%s", warn, r.notes)
		}
	}
}

// checkPod checks what every rendering's pod must have, whatever the
// options: the metrics port and its probes, the shutdown grace, the
// security context, resources, no service account token, and a Service
// that selects the pods.
func checkPod(t *testing.T, r rendered) {
	t.Helper()
	d, c := r.deployment(t)
	pod := d.Spec.Template.Spec
	e := env(t, c)

	// The metrics port, reachable from the kubelet and Prometheus.
	if len(c.Ports) != 1 || c.Ports[0].Name != "metrics" || c.Ports[0].ContainerPort != 9464 || c.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("ports = %+v, want metrics 9464/TCP", c.Ports)
	}
	if e["TRIPLINE_HTTP_ADDR"] != "0.0.0.0:9464" {
		t.Errorf("TRIPLINE_HTTP_ADDR = %q: the kubelet cannot reach the binary's loopback default", e["TRIPLINE_HTTP_ADDR"])
	}
	probes := map[string]struct {
		p    *corev1.Probe
		path string
	}{"liveness": {c.LivenessProbe, "/healthz"}, "readiness": {c.ReadinessProbe, "/readyz"}, "startup": {c.StartupProbe, "/healthz"}}
	for name, want := range probes {
		p := want.p
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe = %+v, want an HTTP GET", name, p)
			continue
		}
		if p.HTTPGet.Path != want.path || p.HTTPGet.Port != intstr.FromString("metrics") {
			t.Errorf("%s probe: GET %s on %s, want %s on the metrics port", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), want.path)
		}
		if p.PeriodSeconds < 1 || p.FailureThreshold < 1 || p.TimeoutSeconds < 1 {
			t.Errorf("%s probe timings %+v", name, p)
		}
	}
	if c.StartupProbe != nil && c.StartupProbe.PeriodSeconds*c.StartupProbe.FailureThreshold < 120 {
		t.Errorf("startup probe allows %ds: the first listing of a large account's users takes longer", c.StartupProbe.PeriodSeconds*c.StartupProbe.FailureThreshold)
	}

	// The shutdown grace the binary gets, and the kubelet's above it.
	grace := e["TRIPLINE_SHUTDOWN_GRACE"]
	if grace == "" {
		t.Error("TRIPLINE_SHUTDOWN_GRACE not set")
	}
	d0, err := time.ParseDuration(grace)
	if err != nil {
		t.Errorf("TRIPLINE_SHUTDOWN_GRACE = %q: %v", grace, err)
	}
	graceSeconds := int64(d0 / time.Second)
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds <= graceSeconds {
		t.Errorf("terminationGracePeriodSeconds = %v, want above the shutdown grace (%ds)", pod.TerminationGracePeriodSeconds, graceSeconds)
	}

	checkSecurityContext(t, pod, c)

	// Requests and limits, both set.
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
			t.Errorf("%s: request %s, limit %s: want both set, request <= limit", res, req.String(), lim.String())
		}
	}
	if mem := c.Resources.Limits[corev1.ResourceMemory]; mem.Value() < 200<<20 {
		t.Errorf("memory limit %s is below the measured peak RSS (120 MiB) plus headroom", mem.String())
	}

	// No token: tripline calls no Kubernetes API.
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token")
	}
	if pod.ServiceAccountName != fullname {
		t.Errorf("serviceAccountName = %q", pod.ServiceAccountName)
	}
	var sa corev1.ServiceAccount
	r.decode(t, "ServiceAccount/"+fullname, &sa)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("the ServiceAccount automounts its token")
	}

	// Rules read from a fixed directory, and never through subPath.
	if e["TRIPLINE_RULES_DIR"] != "/etc/tripline/rules" {
		t.Errorf("TRIPLINE_RULES_DIR = %q", e["TRIPLINE_RULES_DIR"])
	}
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			t.Errorf("mount %s uses subPath: its files would never update", m.Name)
		}
		if !m.ReadOnly {
			t.Errorf("mount %s is writable", m.Name)
		}
	}

	// The Service selects the pods and exposes the metrics port.
	var svc corev1.Service
	r.decode(t, "Service/"+fullname, &svc)
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("service selector %s=%s does not match the pods' labels %v", k, v, d.Spec.Template.Labels)
		}
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("deployment selector %s=%s does not match the pods' labels", k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "metrics" || svc.Spec.Ports[0].Port != 9464 || svc.Spec.Ports[0].TargetPort != intstr.FromString("metrics") {
		t.Errorf("service ports = %+v", svc.Spec.Ports)
	}
}

// checkSecurityContext checks the pod and container security contexts:
// non-root with a numeric user and group, a read-only root filesystem, no
// privilege escalation, no capabilities, the runtime's seccomp profile.
func checkSecurityContext(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	ps := pod.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
		t.Fatalf("pod securityContext %+v: want runAsNonRoot", ps)
	}
	if ps.RunAsUser == nil || *ps.RunAsUser == 0 || ps.RunAsGroup == nil || *ps.RunAsGroup == 0 {
		t.Errorf("pod runAsUser %v, runAsGroup %v: want non-zero", ps.RunAsUser, ps.RunAsGroup)
	}
	if ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccompProfile = %+v", ps.SeccompProfile)
	}
	cs := c.SecurityContext
	if cs == nil {
		t.Fatal("no container securityContext")
	}
	checks := map[string]bool{
		"runAsNonRoot":                   cs.RunAsNonRoot != nil && *cs.RunAsNonRoot,
		"runAsUser non-zero":             cs.RunAsUser != nil && *cs.RunAsUser != 0,
		"runAsGroup non-zero":            cs.RunAsGroup != nil && *cs.RunAsGroup != 0,
		"readOnlyRootFilesystem":         cs.ReadOnlyRootFilesystem != nil && *cs.ReadOnlyRootFilesystem,
		"allowPrivilegeEscalation false": cs.AllowPrivilegeEscalation != nil && !*cs.AllowPrivilegeEscalation,
		"capabilities drop ALL":          cs.Capabilities != nil && slices.Equal(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) && len(cs.Capabilities.Add) == 0,
		"seccompProfile RuntimeDefault":  cs.SeccompProfile != nil && cs.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault,
		"not privileged":                 cs.Privileged == nil || !*cs.Privileged,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("container securityContext: want %s; got %+v", name, cs)
		}
	}
	if cs.RunAsUser != nil && ps.RunAsUser != nil && *cs.RunAsUser != *ps.RunAsUser {
		t.Errorf("container runs as %d, pod as %d", *cs.RunAsUser, *ps.RunAsUser)
	}
	for _, v := range pod.Volumes {
		if v.EmptyDir != nil || v.HostPath != nil {
			t.Errorf("volume %s is writable storage: the consumer writes no file", v.Name)
		}
	}
}
