package sigma

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteReport writes what `consumer rules import sigma` prints after an
// import into dir: the files written and the placeholder lists to fill
// and the summary line on out, one line per skipped rule on errw. It
// returns how many rules were skipped.
func (r *Result) WriteReport(out, errw io.Writer, dir string) (skipped int) {
	dir = strings.TrimSuffix(dir, "/")
	names := make([]string, 0, len(r.Files))
	for n := range r.Files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(out, "wrote %s/%s\n", dir, n)
	}
	imported, byReason := 0, map[Reason]int{}
	for _, o := range r.Outcomes {
		if o.Skip == nil {
			imported++
			continue
		}
		skipped++
		byReason[o.Skip.Reason]++
		fmt.Fprintf(errw, "skip %s: %s\n", o.where(), o.Skip)
	}
	if len(r.NewLists) > 0 {
		fmt.Fprintf(out, "fill the placeholder lists %s in %s/%s: they hold only their placeholder, which matches nothing\n",
			strings.Join(r.NewLists, ", "), dir, PlaceholdersFile)
	}
	reasons := make([]string, 0, len(byReason))
	for reason, n := range byReason {
		reasons = append(reasons, fmt.Sprintf("%s %d", reason, n))
	}
	slices.Sort(reasons)
	summary := fmt.Sprintf("imported %d, skipped %d", imported, skipped)
	if skipped > 0 {
		summary += " (" + strings.Join(reasons, ", ") + ")"
	}
	fmt.Fprintln(out, summary)
	return skipped
}

// where names the rule of o: its file, and its place and title in the file
// when the file was parsed.
func (o Outcome) where() string {
	if o.Index <= 0 {
		return o.File
	}
	at := fmt.Sprintf("%s (rule %d", o.File, o.Index)
	if o.Title != "" {
		at += fmt.Sprintf(" %q", o.Title)
	}
	return at + ")"
}
