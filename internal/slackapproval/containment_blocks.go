package slackapproval

import (
	"fmt"
	"time"

	"github.com/slack-go/slack"
)

// Action ids of the timed suspension's buttons. The message uses the
// approval request's block ids (BlockSummary, BlockActions, BlockStatus).
const (
	ActionKeep = "tripline_keep"
	ActionLift = "tripline_lift"
)

// containmentBlocks is the message of a timed suspension: the summary and
// the Keep and Lift buttons.
func containmentBlocks(c Containment) []slack.Block {
	keep := slack.NewButtonBlockElement(ActionKeep, c.ID, plain("Keep")).
		WithStyle(slack.StylePrimary).
		WithConfirm(slack.NewConfirmationBlockObject(
			plain("Keep this suspension?"),
			plain(truncate(fmt.Sprintf("Make the suspension of the 1Password user %s permanent? tripline will not reactivate them.", displayContained(c)), 300)),
			plain("Keep"), plain("Cancel")))
	lift := slack.NewButtonBlockElement(ActionLift, c.ID, plain("Lift")).
		WithStyle(slack.StyleDanger).
		WithConfirm(slack.NewConfirmationBlockObject(
			plain("Lift this suspension?"),
			plain(truncate(fmt.Sprintf("Reactivate the 1Password user %s now?", displayContained(c)), 300)),
			plain("Lift"), plain("Cancel")).WithStyle(slack.StyleDanger))
	return []slack.Block{
		containmentSummary(c),
		slack.NewActionBlock(BlockActions, keep, lift),
	}
}

// containmentSummary shows who, until when, which rule, why and since
// when, as plain_text fields (see summaryBlock). Why and Trace are left
// out when unknown.
func containmentSummary(c Containment) *slack.SectionBlock {
	var fields []*slack.TextBlockObject
	field := func(label, value string) {
		if value == "" {
			value = "-"
		}
		fields = append(fields, plain(label+": "+truncate(value, maxFieldRunes)))
	}
	field("What", "timed suspension of the 1Password user")
	field("Who", displayContained(c))
	field("Until", day(c.Ends))
	field("Rule", c.RuleID)
	if c.Reason != "" {
		field("Why", c.Reason)
	}
	field("Since", day(c.Since))
	field("Event", c.EventID)
	if c.TraceID != "" {
		field("Trace", c.TraceID)
	}
	return slack.NewSectionBlock(
		slack.NewTextBlockObject(slack.MarkdownType, "*Timed suspension: keep it, or lift it now?*", false, false),
		fields, nil, slack.SectionBlockOptionBlockID(BlockSummary))
}

// containmentFallback is the notification text of the message,
// mrkdwn-escaped.
func containmentFallback(c Containment) string {
	return escape(truncate(fmt.Sprintf("Timed suspension: 1Password user %s suspended until %s (rule %s)", displayContained(c), day(c.Ends), c.RuleID), 1000))
}

// keptText is the status of a suspension by made permanent at at.
func keptText(by string, at time.Time) string {
	return fmt.Sprintf(":lock: Kept by %s at %s: the suspension is permanent", who(by), clock(at))
}

// liftedText is the status of a suspension by lifted at at.
func liftedText(by string, at time.Time) string {
	return fmt.Sprintf(":unlock: Lifted by %s at %s", who(by), clock(at))
}

// extendedText is the status of a suspension whose end moved to ends, by a
// person (by) or a rule's new match (by empty, rule).
func extendedText(by, rule string, ends, at time.Time) string {
	if by == "" {
		return fmt.Sprintf(":hourglass_flowing_sand: Extended to %s at %s by a new match of rule %s", day(ends), clock(at), escape(truncate(rule, 100)))
	}
	return fmt.Sprintf(":hourglass_flowing_sand: Extended to %s by %s at %s", day(ends), who(by), clock(at))
}

// permanentText is the status of a suspension a rule's new match made
// permanent.
func permanentText(rule string, at time.Time) string {
	return fmt.Sprintf(":lock: Made permanent at %s by a new match of rule %s", clock(at), escape(truncate(rule, 100)))
}

// endedText is the status of a suspension that ended at at: reactivated
// (by the clock, or lifted by a person, by), or not (detail says why).
func endedText(reactivated bool, by string, at time.Time, detail string) string {
	switch {
	case !reactivated:
		return fmt.Sprintf(":warning: Ended at %s without reactivating the user: %s", clock(at), escape(truncate(detail, maxFieldRunes)))
	case by != "":
		return liftedText(by, at) + ": tripline reactivated the user"
	}
	return fmt.Sprintf(":unlock: Ended at %s: tripline reactivated the user", clock(at))
}

// goneText is the status of a message whose suspension is no longer in
// force (it ended, or was kept or lifted, and the message missed it).
const goneText = ":grey_question: This timed suspension is no longer in force"

// displayContained is the user as shown to approvers: email and 1Password
// id.
func displayContained(c Containment) string {
	return display(Action{UserID: c.UserID, UserEmail: c.UserEmail})
}

// day formats a time with its date ("2026-10-01 12:03 UTC").
func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
