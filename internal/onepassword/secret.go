package onepassword

import "github.com/tripline-dev/tripline/internal/secret"

// Secret is a credential (the OAuth client secret, an access token) that
// never prints itself: every fmt verb, slog and encoding/json see
// "[redacted]", or "" when the secret is empty. Reveal returns the value.
type Secret = secret.Value
