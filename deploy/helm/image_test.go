package helm_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

const (
	dockerfile  = "../../Dockerfile"
	composeFile = "../../docker-compose.yml"
)

// instruction is one Dockerfile instruction: its keyword (upper case), its
// arguments with continuation lines joined, and its line.
type instruction struct {
	cmd  string
	args string
	line int
}

// parseDockerfile reads the Dockerfile's instructions, skipping comments
// and joining lines ended by a backslash.
func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args), start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no instruction", dockerfile)
	}
	return out
}

var (
	// pinnedImage is an image pinned by digest, or by an exact version tag
	// (1.26.8, v1.2.3, with an optional -variant).
	pinnedDigest = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	pinnedTag    = regexp.MustCompile(`:v?\d+\.\d+\.\d+(-[a-z0-9.]+)?$`)
	secretName   = regexp.MustCompile(`(?i)(secret|token|passw|credential|private|api_?key|signing|_key\b|^key\b)`)
)

// TestDockerfile checks what the chart relies on in the image: pinned
// bases, a static binary (CGO disabled), a numeric non-root user equal to
// the chart's runAsUser, the rules baked in as a default, and no secret in
// a build argument or environment variable (both end up in the image's
// history).
func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t)
	var froms []instruction
	var user instruction
	var cgoOff, rulesCopied bool
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			froms = append(froms, in)
			user = instruction{} // USER is per stage
		case "USER":
			user = in
		case "RUN":
			if strings.Contains(in.args, "go build") && strings.Contains(in.args, "CGO_ENABLED=0") {
				cgoOff = true
			}
		case "ENV":
			if strings.Contains(in.args, "CGO_ENABLED=0") {
				cgoOff = true
			}
		case "COPY":
			if regexp.MustCompile(`^rules\s+/etc/tripline/rules$`).MatchString(in.args) {
				rulesCopied = true
			}
		}
		if in.cmd == "ARG" || in.cmd == "ENV" {
			for _, f := range strings.Fields(in.args) {
				name, _, _ := strings.Cut(f, "=")
				if secretName.MatchString(name) {
					t.Errorf("Dockerfile:%d: %s %s: a secret-looking name in a build argument or environment variable stays in the image's history; pass secrets at run time (the chart mounts them as files)", in.line, in.cmd, name)
				}
			}
		}
	}
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a builder and a runtime", len(froms))
	}
	for _, f := range froms {
		image := strings.Fields(f.args)[0]
		if !pinnedDigest.MatchString(image) && !pinnedTag.MatchString(image) {
			t.Errorf("Dockerfile:%d: FROM %s is not pinned (a digest or an exact version tag)", f.line, image)
		}
	}
	final := strings.Fields(froms[len(froms)-1].args)[0]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("runtime base %s: want a minimal static base (distroless static or scratch)", final)
	}
	if !cgoOff {
		t.Error("Dockerfile: no `CGO_ENABLED=0 go build`: the binary must be static for the runtime base")
	}
	if !rulesCopied {
		t.Error("Dockerfile: the rules are not copied to /etc/tripline/rules: an image run without a rules volume would have none")
	}

	// A numeric non-root user, the one the chart runs as.
	if user.cmd == "" {
		t.Fatal("the runtime stage sets no USER: it would run as root")
	}
	uid, gid, _ := strings.Cut(user.args, ":")
	u, err := strconv.Atoi(uid)
	if err != nil || u == 0 {
		t.Fatalf("Dockerfile:%d: USER %s: want a numeric non-zero uid (runAsNonRoot can only check a number)", user.line, user.args)
	}
	g, err := strconv.Atoi(gid)
	if err != nil || g == 0 {
		t.Errorf("Dockerfile:%d: USER %s: want a numeric non-zero gid", user.line, user.args)
	}
	d, c := render(t, nil).deployment(t)
	ps, cs := d.Spec.Template.Spec.SecurityContext, c.SecurityContext
	if *ps.RunAsUser != int64(u) || *cs.RunAsUser != int64(u) || *ps.RunAsGroup != int64(g) || *cs.RunAsGroup != int64(g) {
		t.Errorf("the chart runs as %d:%d (container %d:%d), the image's USER is %d:%d", *ps.RunAsUser, *ps.RunAsGroup, *cs.RunAsUser, *cs.RunAsGroup, u, g)
	}
}

// TestComposeUsesImage checks that docker-compose.yml still builds its
// tripline services from the Dockerfile, and validates the file with
// `docker compose config -q` (or docker-compose) when one is installed.
func TestComposeUsesImage(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Build *struct {
				Context    string `json:"context"`
				Dockerfile string `json:"dockerfile"`
			} `json:"build"`
			Image       string            `json:"image"`
			Entrypoint  []string          `json:"entrypoint"`
			Environment map[string]string `json:"environment"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	for _, name := range []string{"consumer", "opsim"} {
		s, ok := compose.Services[name]
		if !ok {
			t.Errorf("docker-compose.yml has no %s service", name)
			continue
		}
		if s.Build == nil || s.Build.Context != "." || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("service %s builds %+v, want the repository's Dockerfile", name, s.Build)
		}
	}
	if dir := compose.Services["consumer"].Environment["TRIPLINE_RULES_DIR"]; dir != "" && dir != "/etc/tripline/rules" {
		t.Errorf("the compose consumer reads rules from %s; the image has them in /etc/tripline/rules", dir)
	}

	var cmd []string
	if _, err := exec.LookPath("docker-compose"); err == nil {
		cmd = []string{"docker-compose"}
	} else if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err == nil && strings.Contains(string(out), "version") {
		cmd = []string{"docker", "compose"}
	}
	if cmd == nil {
		t.Log("neither docker-compose nor docker compose is installed: the file was parsed, not validated by Compose")
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, cmd[0], append(cmd[1:], "-f", composeFile, "config", "-q")...)
	if out, err := run.CombinedOutput(); err != nil {
		t.Errorf("%s config -q: %v\n%s", strings.Join(cmd, " "), err, out)
	}
}
