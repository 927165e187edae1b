package config

import "github.com/tripline-dev/tripline/internal/secret"

// Secret is a string that never prints itself: fmt verbs, slog, JSON and
// YAML all see "[redacted]" (or "" when empty). Use Reveal to get the value.
type Secret = secret.Value
