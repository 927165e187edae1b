// Package version holds the build version of tripline's binaries.
package version

// Version is set at build time with -ldflags; "dev" otherwise.
var Version = "dev"

// UserAgent is the User-Agent tripline sends to the 1Password Users API.
func UserAgent() string { return "tripline/" + Version }
