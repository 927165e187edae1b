// Package helm_test checks the Helm chart in tripline/ without a cluster:
// it renders the chart in-process with the Helm SDK (the chart loader and
// the template engine, not the action package), decodes every object
// strictly into the Kubernetes API types (an unknown field fails), and
// asserts what the chart promises: probes, ports, security context, secrets
// only as files, the checksum that rolls the pods, the optional objects.
// It also lints the chart with the SDK's lint package and checks the
// Dockerfile the chart's image comes from. It is a module of its own so that
// the Helm and Kubernetes modules stay out of tripline's build.
package helm_test

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	chartDir    = "tripline"
	releaseName = "tripline"
	namespace   = "security"
	// fullname is the objects' name for releaseName.
	fullname = "tripline"
)

var (
	chartOnce   sync.Once
	loadedChart *chart.Chart
	chartErr    error
)

// loadChart loads the chart directory once; each render works on it
// without changing it.
func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	chartOnce.Do(func() { loadedChart, chartErr = loader.Load(chartDir) })
	if chartErr != nil {
		t.Fatalf("load chart: %v", chartErr)
	}
	return loadedChart
}

// values parses a values file's text, as `helm install -f` does.
func values(t *testing.T, text string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValues([]byte(text))
	if err != nil {
		t.Fatalf("values: %v\n%s", err, text)
	}
	return v.AsMap()
}

// renderErr renders the chart with vals over its defaults, as `helm
// install` would for release "tripline" in namespace "security" (the
// values checked against values.schema.json, missing values an error). It
// returns the rendered text by template path, without the empty ones.
func renderErr(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	c := loadChart(t)
	opts := chartutil.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true}
	rv, err := chartutil.ToRenderValues(c, vals, opts, chartutil.DefaultCapabilities.Copy())
	if err != nil {
		return nil, fmt.Errorf("render values: %w", err)
	}
	out, err := engine.Engine{Strict: true}.Render(c, rv)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	for name, text := range out {
		if strings.TrimSpace(text) == "" {
			delete(out, name)
		}
	}
	return out, nil
}

// rendered is one chart rendering: every object by "Kind/name", as YAML,
// and the NOTES.
type rendered struct {
	docs  map[string][]byte
	notes string
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// render renders the chart with vals and splits it into objects; it fails
// the test if rendering fails or an object has no kind or name, or two
// objects share them.
func render(t *testing.T, vals map[string]any) rendered {
	t.Helper()
	out, err := renderErr(t, vals)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{docs: map[string][]byte{}}
	for name, text := range out {
		if strings.HasSuffix(name, "NOTES.txt") {
			r.notes = text
			continue
		}
		for _, doc := range docSep.Split(text, -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Fatalf("%s: not YAML: %v\n%s", name, err, doc)
			}
			key := head.Kind + "/" + head.Metadata.Name
			if head.Kind == "" || head.Metadata.Name == "" {
				t.Fatalf("%s: an object without kind or name:\n%s", name, doc)
			}
			if _, dup := r.docs[key]; dup {
				t.Fatalf("%s rendered twice", key)
			}
			r.docs[key] = []byte(doc)
		}
	}
	return r
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// keys returns the rendered objects' "Kind/name", sorted.
func (r rendered) keys() []string {
	var out []string
	for k := range r.docs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// decode decodes the object key strictly into out: an unknown or duplicate
// field fails the test, as would a field of the wrong type. It fails the
// test too when the object was not rendered.
func (r rendered) decode(t *testing.T, key string, out any) {
	t.Helper()
	doc, ok := r.docs[key]
	if !ok {
		t.Fatalf("%s not rendered; rendered: %v", key, r.keys())
	}
	if err := strictDecode(doc, out); err != nil {
		t.Fatalf("%s: strict decode into %T: %v\n%s", key, out, err, doc)
	}
}

// strictDecode decodes a YAML document into out as the API server decodes
// an object: field names match case-sensitively, and an unknown or
// duplicate field is an error (encoding/json, which sigs.k8s.io/yaml's
// UnmarshalStrict uses, would take readonly for readOnly).
func strictDecode(doc []byte, out any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, out)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// typedKinds are the kinds the chart renders that Kubernetes defines, with
// their apiVersion and a value to decode into.
var typedKinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"Deployment":          {"apps/v1", func() any { return &appsv1.Deployment{} }},
	"Service":             {"v1", func() any { return &corev1.Service{} }},
	"ServiceAccount":      {"v1", func() any { return &corev1.ServiceAccount{} }},
	"Secret":              {"v1", func() any { return &corev1.Secret{} }},
	"ConfigMap":           {"v1", func() any { return &corev1.ConfigMap{} }},
	"PodDisruptionBudget": {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
	"NetworkPolicy":       {"networking.k8s.io/v1", func() any { return &networkingv1.NetworkPolicy{} }},
	"ScaledObject":        {"keda.sh/v1alpha1", func() any { return &scaledObject{} }},
	"ServiceMonitor":      {"monitoring.coreos.com/v1", func() any { return &serviceMonitor{} }},
	"PrometheusRule":      {"monitoring.coreos.com/v1", func() any { return &prometheusRule{} }},
}

// decodeAll decodes every rendered object strictly into its type and
// checks its apiVersion and namespace; a kind the test does not know fails.
func (r rendered) decodeAll(t *testing.T) {
	t.Helper()
	for _, key := range r.keys() {
		kind, _, _ := strings.Cut(key, "/")
		k, ok := typedKinds[kind]
		if !ok {
			t.Errorf("%s: a kind the chart's tests do not decode", key)
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Metadata   struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(r.docs[key], &head); err != nil {
			t.Fatal(err)
		}
		if head.APIVersion != k.apiVersion {
			t.Errorf("%s: apiVersion %q, want %q", key, head.APIVersion, k.apiVersion)
		}
		if head.Metadata.Namespace == "" {
			t.Errorf("%s: no namespace", key)
		}
		r.decode(t, key, k.new())
	}
}

// deployment decodes the rendered Deployment and returns it with its one
// container.
func (r rendered) deployment(t *testing.T) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	var d appsv1.Deployment
	r.decode(t, "Deployment/"+fullname, &d)
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("deployment has %d containers, want 1", n)
	}
	return &d, d.Spec.Template.Spec.Containers[0]
}

// env returns the container's environment by name; it fails the test on a
// variable set twice or taken from elsewhere than a literal value.
func env(t *testing.T, c corev1.Container) map[string]string {
	t.Helper()
	if len(c.EnvFrom) > 0 {
		t.Errorf("container takes envFrom %v: every variable should be listed", c.EnvFrom)
	}
	out := map[string]string{}
	for _, e := range c.Env {
		if _, dup := out[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		if e.ValueFrom != nil {
			t.Errorf("env %s comes from %+v: secrets are files, the rest literal values", e.Name, e.ValueFrom)
		}
		out[e.Name] = e.Value
	}
	return out
}

// mounts returns the container's volume mounts by volume name.
func mounts(c corev1.Container) map[string]corev1.VolumeMount {
	out := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		out[m.Name] = m
	}
	return out
}

// volumes returns the pod's volumes by name.
func volumes(d *appsv1.Deployment) map[string]corev1.Volume {
	out := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		out[v.Name] = v
	}
	return out
}

// sameYAML reports whether two documents hold the same data.
func sameYAML(t *testing.T, a, b []byte) bool {
	t.Helper()
	ja, err := yaml.YAMLToJSON(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}
