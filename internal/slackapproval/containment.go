package slackapproval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Containment is a timed suspension as its message shows it: a user
// suspended by a rule until Ends, after which tripline reactivates them
// unless an approver keeps the suspension (makes it permanent) or lifts it
// (reactivates the user now) first.
type Containment struct {
	// ID names this timed suspension of this user, opaque to this package.
	// It is the value of the Keep and Lift buttons and the id given to
	// Decider.DecideContainment.
	ID string
	// RuleID is the rule that suspended the user.
	RuleID string
	// UserID is the 1Password user id.
	UserID string
	// UserEmail is the 1Password user's email, shown to approvers.
	UserEmail string
	// Reason is the rule's rendered reason ("" when unknown: the message
	// then shows no Why).
	Reason string
	// EventID is the id of the event that matched.
	EventID string
	// TraceID is the trace id of the suspension ("" when unknown).
	TraceID string
	// Since is when the user was suspended; Ends when the suspension ends.
	Since, Ends time.Time
}

func (c Containment) validate() error {
	var errs []error
	switch {
	case c.ID == "":
		errs = append(errs, errors.New("containment id is empty"))
	case len(c.ID) > MaxActionIDLen:
		errs = append(errs, fmt.Errorf("containment id is %d bytes, more than %d", len(c.ID), MaxActionIDLen))
	case strings.ContainsFunc(c.ID, isControlOrSpace):
		errs = append(errs, errors.New("containment id contains spaces or control characters"))
	}
	if c.UserID == "" {
		errs = append(errs, errors.New("1Password user id is empty"))
	}
	if c.Ends.IsZero() {
		errs = append(errs, errors.New("end is not set"))
	}
	return errors.Join(errs...)
}

// PostContainment sends the message of the timed suspension c to the
// configured channel (a summary with Keep and Lift buttons) and returns
// where it landed.
func (n *Notifier) PostContainment(ctx context.Context, c Containment) (MessageRef, error) {
	if err := c.validate(); err != nil {
		return MessageRef{}, fmt.Errorf("post timed suspension: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	channel, ts, err := n.api.PostMessageContext(ctx, n.cfg.Channel,
		slack.MsgOptionText(containmentFallback(c), false),
		slack.MsgOptionBlocks(containmentBlocks(c)...),
		slack.MsgOptionDisableLinkUnfurl(),
	)
	if err != nil {
		return MessageRef{}, fmt.Errorf("post timed suspension %s: %w", c.ID, n.apiError("chat.postMessage", err))
	}
	return MessageRef{Channel: channel, TS: ts}, nil
}

// ContainmentExtended rewrites the message of a timed suspension that goes
// on (c.Ends is its new end): the summary, a status line saying what
// changed, and the Keep and Lift buttons.
func (n *Notifier) ContainmentExtended(ctx context.Context, ref MessageRef, c Containment, status string) error {
	blocks := containmentBlocks(c)
	blocks = []slack.Block{blocks[0], statusBlock(status), blocks[1]}
	if err := n.rewrite(ctx, ref, blocks, status); err != nil {
		return fmt.Errorf("mark timed suspension %s extended: %w", c.ID, err)
	}
	return nil
}

// ContainmentClosed rewrites the message of a timed suspension that is
// over (kept, lifted, ended): the summary stays, the buttons go, and a
// status line says what happened.
func (n *Notifier) ContainmentClosed(ctx context.Context, ref MessageRef, c Containment, status string) error {
	if err := n.update(ctx, ref, []slack.Block{containmentSummary(c)}, status); err != nil {
		return fmt.Errorf("mark timed suspension %s closed: %w", c.ID, err)
	}
	return nil
}
