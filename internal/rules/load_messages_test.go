package rules

import (
	"strings"
	"testing"
	"testing/fstest"
)

// everyCheck is a rule file that fails every check of compileRule,
// checkCalls and parseTest at least once.
const everyCheck = `lists:
  nets: ["10.0.0.0/8", "192.168.1.1"]
  words: ["a", "b"]
rules:
  - id: Bad-ID
    severity: huge
    mode: loud
    action: explode
    cooldown: -5m
    grace: forever
    approval_timeout: 10s
    max_actions: "0/1h"
    when: in_cidr(src_ip, "words") && in_cidr(src_ip, "nonsense") && country_in(country, "nolist") && in_list(user_email, "nope") && len(list("gone")) > 0 && local_hour("Mars/Base") > 3 && hour_in("UTC", 25, -1) && weekday_in("Local", "funday", "mon") && glob("[", user_email) && risk_at_least("extreme") && count(user_email, "5m") > 1 && count("k", "-5m") > 1 && local_hour(country) > 1
    user: '""'
    reason: "{{ .nope }} {{ .user_email }}"
    tests:
      - name: t1
        event: {user_email: a}
        input: "{}"
        every: xyz
        repeat: 0
        expect: {match: true, bogus: 1}
      - event: {nope: 1}
      - name: t3
        events: notalist
        expect: {match: maybe}
      - name: t4
        fixture: missing.json
        expect: {match: false}
      - name: t5
        input: {a: [1, 2]}
        expect: {match: false, action: [1]}
  - severity: low
    action: none
    when: ""
    user: "   "
    reason: "{{ .user_email"
  - id: dup
    severity: low
    action: suspend
    mode: enforce
    when: count("a", "5m") >= 3 && count("a", "1m") <= 7 && 2 < count("b", "1h")
    user: user_email + 1
  - id: dup
    severity: low
    action: none
    when: 1 + "x"
    approval_timeout: 5m
    mode: approve
    tests: notalist
`

// TestLoadReportsEveryCheck loads everyCheck and wants every problem, in
// order, word for word: the messages, lines and order that the checks of
// compileRule, checkCalls (each helper's literal arguments) and parseTest
// (exclusive sources, repeat, expect, events, input, fixture) report.
func TestLoadReportsEveryCheck(t *testing.T) {
	t.Parallel()
	_, err := Load(fstest.MapFS{"bad.yaml": {Data: []byte(everyCheck)}})
	want := []string{
		`bad.yaml:19: rule Bad-ID: test "t1": event and input are exclusive`,
		`bad.yaml:21: rule Bad-ID: repeat: expected an integer from 1 to 1000`,
		`bad.yaml:22: rule Bad-ID: expect: unknown key "bogus" (allowed: match, action, user, reason)`,
		`bad.yaml:23: rule Bad-ID: event: json: unknown field "nope"`,
		`bad.yaml:23: rule Bad-ID: test: name is required`,
		`bad.yaml:23: rule Bad-ID: test "": expect.match is required`,
		`bad.yaml:25: rule Bad-ID: events: expected a list of events`,
		"bad.yaml:26: rule Bad-ID: expect.match: yaml: unmarshal errors:\n  line 26: cannot unmarshal !!str `maybe` into bool",
		`bad.yaml:28: rule Bad-ID: fixture: open missing.json: file does not exist`,
		"bad.yaml:32: rule Bad-ID: expect.action: yaml: unmarshal errors:\n  line 32: cannot unmarshal !!seq into string",
		`bad.yaml:50: rule dup: tests: expected a list`,
		`bad.yaml:5: rule Bad-ID: id "Bad-ID" is not snake_case (lower-case letters, digits and single underscores)`,
		`bad.yaml:6: rule Bad-ID: severity: "huge" is not one of info, low, medium, high, critical`,
		`bad.yaml:7: rule Bad-ID: mode: "loud" is not one of enforce, approve, shadow`,
		`bad.yaml:8: rule Bad-ID: action: "explode" is not one of suspend, reactivate, none`,
		`bad.yaml:9: rule Bad-ID: cooldown: "-5m" is not a non-negative duration (e.g. 30m, 1h)`,
		`bad.yaml:10: rule Bad-ID: grace: "forever" is not a non-negative duration (e.g. 24h)`,
		`bad.yaml:11: rule Bad-ID: approval_timeout: "10s" is not a duration between 1m and 168h (e.g. 30m)`,
		`bad.yaml:11: rule Bad-ID: approval_timeout is only for mode: approve`,
		`bad.yaml:12: rule Bad-ID: max_actions: "0/1h" is not COUNT/WINDOW with a count of at least 1 and a positive duration (e.g. 10/1h: at most 10 actions in any hour)`,
		`bad.yaml:13: rule Bad-ID: when: in_cidr: list "words" holds entries that are not CIDRs or IP addresses`,
		`bad.yaml:13: rule Bad-ID: when: in_cidr: "nonsense" is neither a CIDR, an IP address nor a known list`,
		`bad.yaml:13: rule Bad-ID: when: country_in: unknown list "nolist"`,
		`bad.yaml:13: rule Bad-ID: when: in_list: unknown list "nope"`,
		`bad.yaml:13: rule Bad-ID: when: list: unknown list "gone"`,
		`bad.yaml:13: rule Bad-ID: when: local_hour: unknown time zone "Mars/Base"`,
		`bad.yaml:13: rule Bad-ID: when: hour_in: hour 25 is not in 0..24`,
		`bad.yaml:13: rule Bad-ID: when: hour_in: hour -1 is not in 0..24`,
		`bad.yaml:13: rule Bad-ID: when: weekday_in: unknown time zone "Local"`,
		`bad.yaml:13: rule Bad-ID: when: weekday_in: unknown day "funday" (mon..sun or monday..sunday)`,
		`bad.yaml:13: rule Bad-ID: when: glob: bad pattern "["`,
		`bad.yaml:13: rule Bad-ID: when: risk_at_least: unknown level "extreme" (none, low, medium, high, critical)`,
		`bad.yaml:13: rule Bad-ID: when: count: the key and the window must be string literals, e.g. count("mfa_fail", "10m")`,
		`bad.yaml:13: rule Bad-ID: when: count: window "-5m" is not a positive duration`,
		`bad.yaml:13: rule Bad-ID: when: local_hour: the time zone must be a string literal`,
		`bad.yaml:14: rule Bad-ID: user: action  needs a user, the expression is always empty`,
		`bad.yaml:15: rule Bad-ID: reason: unknown field .nope`,
		`bad.yaml:17: rule Bad-ID: test "t1": every: "xyz" is not a duration`,
		`bad.yaml:33: id is required`,
		`bad.yaml:35: when is required`,
		`bad.yaml:36: user: empty expression`,
		`bad.yaml:37: reason: template: :1: unclosed action`,
		`bad.yaml:43: rule dup: user: invalid operation: + (mismatched types string and int) (expression line 1, column 12)`,
		`bad.yaml:38: rule dup: an enforce rule that suspends needs at least one inline test that matches and one that does not (has 0 matching, 0 not matching)`,
		`bad.yaml:44: rule dup: duplicate rule id (first defined at bad.yaml:38)`,
		`bad.yaml:47: rule dup: when: invalid operation: + (mismatched types int and string) (expression line 1, column 3)`,
	}
	var got []string
	for _, p := range LoadErrors(err) {
		got = append(got, p.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
