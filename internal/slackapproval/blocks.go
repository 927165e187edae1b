package slackapproval

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Block and action ids of the approval request. The Handler recognises its
// buttons by action id and finds the summary by block id when it rewrites
// a message.
const (
	BlockSummary  = "tripline_summary"
	BlockActions  = "tripline_actions"
	BlockStatus   = "tripline_status"
	ActionApprove = "tripline_approve"
	ActionDeny    = "tripline_deny"
)

// maxFieldRunes bounds each value shown in the summary (Slack allows 2000
// characters per field; a reason can be long and is attacker-influenced).
const maxFieldRunes = 500

// Slack ids: users (rendered as mentions, accepted as clickers and
// approvers) and user groups.
var (
	slackUserID  = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)
	slackGroupID = regexp.MustCompile(`^S[A-Z0-9]{2,30}$`)
)

// requestBlocks is the approval request: the summary and the two buttons.
func requestBlocks(a Action) []slack.Block {
	approve := slack.NewButtonBlockElement(ActionApprove, a.ID, plain("Approve")).
		WithStyle(slack.StylePrimary).
		WithConfirm(slack.NewConfirmationBlockObject(
			plain("Suspend this user?"),
			plain(truncate(fmt.Sprintf("Suspend the 1Password user %s now?", display(a)), 300)),
			plain("Suspend"), plain("Cancel")).WithStyle(slack.StyleDanger))
	deny := slack.NewButtonBlockElement(ActionDeny, a.ID, plain("Deny")).WithStyle(slack.StyleDanger)
	return []slack.Block{
		summaryBlock(a),
		slack.NewActionBlock(BlockActions, approve, deny),
	}
}

// summaryBlock shows what, who, why, rule, expiry, event, trace and request
// id. Values from events are plain_text fields, so an email or a reason
// cannot mention @channel, hide a link or fake formatting.
func summaryBlock(a Action) *slack.SectionBlock {
	field := func(label, value string) *slack.TextBlockObject {
		if value == "" {
			value = "-"
		}
		return plain(label + ": " + truncate(value, maxFieldRunes))
	}
	fields := []*slack.TextBlockObject{
		field("What", "suspend the 1Password user"),
		field("Who", display(a)),
		field("Why", a.Reason),
		field("Rule", a.RuleID),
		field("Expires", a.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")),
		field("Event", a.EventID),
		field("Trace", a.TraceID),
		field("Request", a.ID),
	}
	return slack.NewSectionBlock(
		slack.NewTextBlockObject(slack.MarkdownType, "*Approval needed: suspend a 1Password user*", false, false),
		fields, nil, slack.SectionBlockOptionBlockID(BlockSummary))
}

// statusBlock is the line that replaces the buttons.
func statusBlock(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(
		slack.NewTextBlockObject(slack.MarkdownType, text, false, false),
		nil, nil, slack.SectionBlockOptionBlockID(BlockStatus))
}

// fallbackText is the notification text of the request (chat.postMessage
// "text"), mrkdwn-escaped.
func fallbackText(a Action) string {
	return escape(truncate(fmt.Sprintf("Approval needed: suspend 1Password user %s (rule %s)", display(a), a.RuleID), 1000))
}

func decidedText(o Outcome) string {
	s := fmt.Sprintf(":no_entry: Denied by %s at %s", who(o.By), clock(o.At))
	if o.Approved {
		s = fmt.Sprintf(":white_check_mark: Approved by %s at %s", who(o.By), clock(o.At))
	}
	if o.Reason != "" {
		s += ": " + escape(truncate(o.Reason, maxFieldRunes))
	}
	return s
}

func alreadyText(o Outcome) string {
	verb := "denied"
	if o.Approved {
		verb = "approved"
	}
	s := fmt.Sprintf("This request was already %s by %s at %s", verb, who(o.By), clock(o.At))
	if o.Reason != "" {
		s += ": " + escape(truncate(o.Reason, maxFieldRunes))
	}
	return s
}

func expiredText(at time.Time) string {
	return fmt.Sprintf(":hourglass: Expired at %s — denied, never executed", clock(at))
}

func reminderText(a Action) string {
	return fmt.Sprintf(":bell: Reminder: this request is still waiting for an approver. It expires at %s; if nobody answers, it is denied and never executed.", clock(a.ExpiresAt))
}

// who renders an answerer: a mention for a Slack user id, escaped text
// otherwise.
func who(by string) string {
	if slackUserID.MatchString(by) {
		return "<@" + by + ">"
	}
	if by == "" {
		return "unknown"
	}
	return escape(truncate(by, 100))
}

// display is the user as shown to approvers: email and 1Password id.
func display(a Action) string {
	if a.UserEmail == "" {
		return a.UserID
	}
	return a.UserEmail + " (" + a.UserID + ")"
}

// clock formats a time as Slack messages show it ("12:03 UTC").
func clock(t time.Time) string { return t.UTC().Format("15:04 UTC") }

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// escape makes s safe inside mrkdwn: Slack's control sequences (<@U..>,
// <!channel>, <url|text>) need '<' and '>', and '&' starts an entity.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// summaryFromMessage returns the summary block of a posted request, taken
// from the message Slack includes in a block_actions payload, or nil when it
// is missing or does not parse.
func summaryFromMessage(raw json.RawMessage) []slack.Block {
	if len(raw) == 0 {
		return nil
	}
	var blocks slack.Blocks
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil
	}
	for _, b := range blocks.BlockSet {
		if b.ID() == BlockSummary {
			return []slack.Block{b}
		}
	}
	return nil
}
