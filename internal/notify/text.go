package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxTextField bounds each field of a human-readable message: reasons are
// rendered from event data and can be long.
const maxTextField = 300

// headline is one sentence saying what happened, for a chat title or a
// PagerDuty summary.
func headline(n Notification) string {
	action := n.Action
	if action == "" {
		action = "action"
	}
	user := "1Password user " + userLabel(n)
	switch n.Type {
	case TypeAction:
		if !n.EndsAt.IsZero() {
			user += " until " + n.EndsAt.UTC().Format(time.RFC3339)
		}
		return fmt.Sprintf("tripline: %s of %s, result %s (rule %s)", action, user, orDash(n.Result), orDash(n.RuleID))
	case TypeApprovalRequested:
		exp := ""
		if !n.ExpiresAt.IsZero() {
			exp = ", expires " + n.ExpiresAt.UTC().Format(time.RFC3339)
		}
		return fmt.Sprintf("tripline: approval needed to %s %s (rule %s%s)", action, user, orDash(n.RuleID), exp)
	case TypeApprovalExpired:
		return fmt.Sprintf("tripline: approval to %s %s expired unapproved (rule %s)", action, user, orDash(n.RuleID))
	case TypeBreakerOpen:
		return fmt.Sprintf("tripline: breaker %s is open, suspensions in it are held until an operator re-arms it", orDash(n.Scope))
	case TypeDLQ:
		return fmt.Sprintf("tripline: %s of %s needs a person (%s, rule %s)", action, user, orDash(n.Class), orDash(n.RuleID))
	}
	return "tripline: " + string(n.Type)
}

// userLabel names the user as far as the sink may know them.
func userLabel(n Notification) string {
	switch {
	case n.UserID != "":
		return n.UserID
	case n.Email != "":
		return n.Email
	case n.EmailHash != "":
		return "with email hash " + shortHash(n.EmailHash)
	}
	return "(unknown)"
}

// shortHash keeps the scheme and the first 16 hex digits of an email hash:
// enough for a person to match, short enough to read.
func shortHash(h string) string {
	scheme, hexs, ok := strings.Cut(h, ":")
	if !ok || len(hexs) <= 16 {
		return h
	}
	return scheme + ":" + hexs[:16] + "…"
}

// emoji marks each type in chat.
func emoji(t Type) string {
	switch t {
	case TypeAction:
		return ":lock:"
	case TypeApprovalRequested:
		return ":raised_hand:"
	case TypeApprovalExpired:
		return ":hourglass:"
	case TypeBreakerOpen:
		return ":rotating_light:"
	}
	return ":warning:"
}

// slackText is the chat message of n in Slack mrkdwn: a headline, then one
// line per known field. Every value is escaped (&, <, >) so that event
// data cannot mention @channel or forge links, kept on one line so it
// cannot forge other fields, and shown as inline code, which Slack does not
// turn into links.
func slackText(n Notification) string {
	var b strings.Builder
	b.WriteString(emoji(n.Type))
	b.WriteString(" *")
	b.WriteString(slackEscape(oneLine(headline(n))))
	b.WriteString("*")
	field := func(name, v string) {
		if v == "" {
			return
		}
		b.WriteString("\n*" + name + ":* " + slackCode(v))
	}
	field("Type", string(n.Type))
	field("Rule", n.RuleID)
	field("Action", n.Action)
	field("1Password user", n.UserID)
	field("Email", n.Email)
	if n.Email == "" {
		field("Email hash", shortHash(n.EmailHash))
	}
	field("Result", n.Result)
	field("Reason", n.Reason)
	field("Scope", n.Scope)
	field("Class", n.Class)
	if n.Attempts > 0 {
		field("Attempts", strconv.Itoa(n.Attempts))
	}
	field("Approval", n.ApprovalID)
	if !n.ExpiresAt.IsZero() {
		field("Expires", n.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if !n.EndsAt.IsZero() {
		field("Until", n.EndsAt.UTC().Format(time.RFC3339))
	}
	field("Event", n.EventID)
	field("Trace", n.TraceID)
	if !n.Time.IsZero() {
		field("Time", n.Time.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// slackCode shows v as inline code: one line, bounded, escaped, without
// backticks that would end the code span.
func slackCode(v string) string {
	v = strings.ReplaceAll(truncate(oneLine(v), maxTextField), "`", "'")
	return "`" + slackEscape(v) + "`"
}

// slackEscape escapes the three characters Slack mrkdwn gives meaning to.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// oneLine replaces control characters (newlines included) with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:max(cut, 0)] + "…"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// redactEmails replaces every email address in s (a run of address
// characters, an @, and a domain with a dot) with EmailRedacted. It scans
// once and allocates only when it finds one.
func redactEmails(s string) string {
	if strings.IndexByte(s, '@') < 0 {
		return s
	}
	var b strings.Builder
	last := 0 // s[:last] is written or skipped
	for i := 0; i < len(s); i++ {
		if s[i] != '@' {
			continue
		}
		start := i
		for start > last && addressByte(s[start-1]) {
			start--
		}
		end := i + 1
		for end < len(s) && addressByte(s[end]) {
			end++
		}
		domain := strings.TrimRight(s[i+1:end], ".")
		if start == i || !strings.Contains(domain, ".") {
			continue
		}
		end = i + 1 + len(domain)
		b.WriteString(s[last:start])
		b.WriteString(EmailRedacted)
		last, i = end, end-1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// addressByte reports whether c can be part of an email address as it
// appears in text: anything but white space, controls and the punctuation
// that surrounds addresses (<>()[]{}"',;:|@). Bytes of multi-byte runes
// count, so internationalized addresses are caught whole.
func addressByte(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	return !strings.ContainsRune("<>()[]{}\"',;:|@", rune(c))
}
