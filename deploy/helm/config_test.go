package helm_test

import (
	"bufio"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func joinComma(s []string) string { return strings.Join(s, ", ") }

var readmeVar = regexp.MustCompile("^\\| `(TRIPLINE_[A-Z0-9_]+)` \\|")

// readmeSecretFiles returns the *_FILE variables of the README's
// configuration table that hold a secret: those whose name without _FILE
// is a variable too (the TLS *_FILE settings name files, not secrets).
func readmeSecretFiles(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := readmeVar.FindStringSubmatch(sc.Text()); m != nil {
			vars[m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var out []string
	for v := range vars {
		if base, ok := strings.CutSuffix(v, "_FILE"); ok && vars[base] {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		t.Fatal("README.md: no TRIPLINE_*_FILE variable in the configuration table")
	}
	return out
}

// TestSecretTableMatchesREADME checks that the chart passes every secret
// tripline reads from a file, and only those: the README's configuration
// table (itself checked against the config package) lists them.
func TestSecretTableMatchesREADME(t *testing.T) {
	t.Parallel()
	want := readmeSecretFiles(t)
	got := slices.Sorted(maps.Values(secretTable))
	if !slices.Equal(got, want) {
		t.Errorf("the chart's secrets %v\nthe README's %v", got, want)
	}
	// And the chart's own table is the test's.
	keys := slices.Sorted(maps.Keys(secretTable))
	existing := "secret:\n  existingSecret: s\n  existingSecretKeys: [" + joinComma(keys) + "]\n"
	_, c := render(t, values(t, existing)).deployment(t)
	e := env(t, c)
	for key, v := range secretTable {
		if e[v] != "/etc/tripline/secrets/"+key {
			t.Errorf("key %s: %s = %q", key, v, e[v])
		}
	}
}

// TestConfigAsEnv checks that config reaches the pod as literal
// environment values, in a stable order.
func TestConfigAsEnv(t *testing.T) {
	t.Parallel()
	r := render(t, values(t, allOn))
	_, c := r.deployment(t)
	e := env(t, c)
	for k, v := range map[string]string{
		"TRIPLINE_KAFKA_TOPICS":   "siem.signins,okta.events=okta",
		"TRIPLINE_OP_ACCOUNT_ID":  "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"TRIPLINE_DRY_RUN":        "false",
		"TRIPLINE_SHUTDOWN_GRACE": "30s",
	} {
		if e[k] != v {
			t.Errorf("%s = %q, want %q", k, e[k], v)
		}
	}
	again := render(t, values(t, allOn))
	if string(r.docs["Deployment/"+fullname]) != string(again.docs["Deployment/"+fullname]) {
		t.Error("two renderings of the same values differ: the pods would roll on every upgrade")
	}
}

// TestChecksum checks the pod template's checksum/config annotation: it
// changes with what the consumer reads at start (its environment, the
// Secret the chart creates), so that such a change rolls the pods, and with
// nothing else: a change of the rules alone leaves the whole pod template
// as it was (the rules hot-reload).
func TestChecksum(t *testing.T) {
	t.Parallel()
	base := values(t, allOn)
	baseR := render(t, base)
	baseD, _ := baseR.deployment(t)
	sum := baseD.Spec.Template.Annotations["checksum/config"]
	if len(sum) != 64 {
		t.Fatalf("checksum/config = %q, want a sha256", sum)
	}
	change := func(t *testing.T, edit func(v map[string]any)) (string, []byte) {
		t.Helper()
		v := values(t, allOn)
		edit(v)
		r := render(t, v)
		d, _ := r.deployment(t)
		return d.Spec.Template.Annotations["checksum/config"], r.docs["Deployment/"+fullname]
	}
	sub := func(v map[string]any, keys ...string) map[string]any {
		for _, k := range keys {
			v = v[k].(map[string]any)
		}
		return v
	}
	for name, edit := range map[string]func(v map[string]any){
		"config value":    func(v map[string]any) { sub(v, "config")["TRIPLINE_KAFKA_GROUP_ID"] = "other-group" },
		"config added":    func(v map[string]any) { sub(v, "config")["TRIPLINE_LOG_LEVEL"] = "debug" },
		"secret value":    func(v map[string]any) { sub(v, "secret", "data")["op-client-secret"] = "rotated-client-secret" },
		"secret removed":  func(v map[string]any) { delete(sub(v, "secret", "data"), "slack-bot-token") },
		"shutdown grace":  func(v map[string]any) { v["shutdownGraceSeconds"] = 40 },
		"kafka TLS files": func(v map[string]any) { sub(v, "kafkaTLS")["clientCertificate"] = false },
	} {
		t.Run("rolls on "+name, func(t *testing.T) {
			t.Parallel()
			if got, _ := change(t, edit); got == sum {
				t.Errorf("checksum/config unchanged after a change of %s", name)
			}
		})
	}
	for name, edit := range map[string]func(v map[string]any){
		"rule edited": func(v map[string]any) {
			sub(v, "rules", "files")["signin.yaml"] = "rules:\n  - id: signin\n    severity: high\n    action: none\n    when: 'false'\n"
		},
		"rule file added":      func(v map[string]any) { sub(v, "rules", "files")["more.yaml"] = "rules: []\n" },
		"protected.yaml":       func(v map[string]any) { sub(v, "rules", "files")["protected.yaml"] = "emails: [a@example.com]\n" },
		"benign sample edited": func(v map[string]any) { sub(v, "rules", "files")["testdata/benign/okta-ordinary.json"] = "{}\n" },
	} {
		t.Run("stays on "+name, func(t *testing.T) {
			t.Parallel()
			got, doc := change(t, edit)
			if got != sum {
				t.Errorf("checksum/config changed after a change of the rules (%s): the pods would restart instead of reloading", name)
			}
			if !sameYAML(t, doc, baseR.docs["Deployment/"+fullname]) {
				t.Errorf("the Deployment changed after a change of the rules (%s)", name)
			}
		})
	}
}
